"""The lab engine: content model, workspace, checks, scenarios, runner and self-test.

The headless API the CLI and the TUI call lives in `tutor.engine.labs.api`.
"""
