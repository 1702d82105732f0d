"""The SQL storage engines (SQLite and PostgreSQL) behind one interface."""
