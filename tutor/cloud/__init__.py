"""Everything that talks to the emulator: endpoint choice, safety guard, clients, LocalStack."""
