"""The headless engine: labs, checks, scenarios, quizzes, scheduling, progress. No Textual."""
