"""docpal: PostgreSQL-native dynamic-schema platform (generator, deploy, CLI)."""

__version__ = "0.7.0"
