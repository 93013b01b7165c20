"""Storage: SQLAlchemy tables (schema) and the few queries camwatch needs (repo)."""
