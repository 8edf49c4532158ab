"""The Spark layer: the only part of immuta_spark that imports pyspark."""
