"""Sample data for the demo and the tests: the tables that ``conf/governance.yaml`` governs."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession

__all__ = ["MEDICAL_ROWS", "create_sample_tables"]

#: claims.medical: (claim_id, ssn, address, state, ip, amount, claim_date, gender)
MEDICAL_ROWS = [
    (1, "123-45-6789", "1 Main St", "Ohio", "164.16.13.1", 1234.5, dt.date(2026, 11, 1), "F"),
    (2, "987-65-4321", "2 Elm St", "Missouri", "10.0.0.22", 99.0, dt.date(2026, 10, 15), "M"),
    (3, "555-55-5555", "3 Oak St", "Florida", "192.168.1.7", 250.0, dt.date(2026, 9, 3), "F"),
    (4, "111-22-3333", "4 Pine St", "Ohio", "172.16.0.9", 480.25, dt.date(2026, 8, 20), "M"),
    (5, "444-55-6666", "5 Lake Rd", "Missouri", "8.8.4.4", 1500.0, dt.date(2026, 11, 20), "F"),
    (6, None, "6 Hill Ave", None, "127.0.0.1", None, None, None),
]
_MEDICAL_SCHEMA = (
    "claim_id bigint, ssn string, address string, state string, ip string, amount double, claim_date date, "
    "gender string"
)


def create_sample_tables(spark: SparkSession) -> None:
    """(Re)create claims.medical, claims.patients, transport.rides and hr.payroll."""
    for db in ("claims", "transport", "hr"):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    spark.createDataFrame(MEDICAL_ROWS, _MEDICAL_SCHEMA).write.mode("overwrite").saveAsTable("claims.medical")
    patients = [
        (1, "Female", "43001", "Ohio", "flu"),
        (2, "Female", "32003", "Florida", "cold"),
        (3, "Female", "32003", "Florida", "flu"),
        (4, "Female", "72001", "Arkansas", "asthma"),
        (5, "Male", "32003", "Florida", "cold"),
    ]
    spark.createDataFrame(
        patients, "patient_id bigint, gender string, zip string, state string, diagnosis string"
    ).write.mode("overwrite").saveAsTable("claims.patients")
    now = dt.datetime.now().replace(microsecond=0)
    rides = [
        (i, now - dt.timedelta(days=i * 7), 1 + i % 3, 5.0 + i * 3.5, ("Analysts", "Finance", "Admins")[i % 3])
        for i in range(1, 13)
    ]
    spark.createDataFrame(
        rides, "ride_id bigint, pickup_time timestamp, passenger_count int, fare double, region string"
    ).write.mode("overwrite").saveAsTable("transport.rides")
    spark.createDataFrame([("erin", 100000.0), ("carol", 90000.0)], "employee string, salary double").write.mode(
        "overwrite"
    ).saveAsTable("hr.payroll")
