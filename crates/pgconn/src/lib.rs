//! PostgreSQL connections the way libpq makes them (being written: the manifest comes first).
