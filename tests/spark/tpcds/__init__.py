"""TPC-DS for the compatibility test: Spark's query texts, the table schemas, a small data generator, a catalog."""
