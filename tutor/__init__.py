"""tutor: learn Amazon SQS architecture patterns hands-on against LocalStack."""

__version__ = "0.1.0"
