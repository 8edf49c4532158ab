"""``make bench``: run every benchmark, print a table, write ``bench/results.json``.

``python -m bench [idp] [compile] [policyfile] [spark] [masks] [tpcds] [hdfs] [workspace] [ws_sources] [objects]``
runs a subset (``masks``: only the advanced masks of ``spark``, on the same table); results of
sections not run are kept from the previous results file, so the table always shows the latest
figure of each.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"

#: (key, target, what it measures)
TARGETS: dict[str, tuple[str, str]] = {
    "compile_p50_ms": ("-", "policy compile, one source, 1k sources x 1k policies x 10k users"),
    "compile_p99_ms": ("<= 10", "same, p99 over 2,000 compiles"),
    "compile_p99_ms_10k_policies": ("<= 2", "same with 10k global policies, median of 3 runs"),
    "apply_2000_s": ("<= 5", "apply 2k sources x 2k policies x 10k users to an empty catalog, median of 3"),
    "apply_100k_users_s": ("<= 30", "apply 100k users x 1k sources x 1k policies to an empty catalog, median of 3"),
    "reapply_100k_users_100_changed_s": ("<= 3", "re-apply that with 100 users changed (a new handle), median of 3"),
    "snapshot_load_100k_users_s": ("-", "load the snapshot of that catalog"),
    "compile_p50_ms_10k_policies": ("-", "compile p50 with 10k global policies, median of 3 runs"),
    "policy_file_10mb_s": (
        "<= 2",
        "worst time to accept a valid 10 MB users/sources/policies file or refuse one failing at its end, "
        "in flow style, or with an anchor on its last line",
    ),
    "hostile_predicate_s": ("<= 0.5", "worst time to refuse a hostile predicate (5,000 OR terms, 4,000 deep, 10 MB)"),
    "hostile_document_s": ("<= 2", "worst time to refuse megabytes of hostile YAML (nesting, alias bombs)"),
    "p1_ratio": ("<= 1.05", "governed / native query, 5M rows, hash+regex+round+row filter, median of 15 pairs"),
    "p1_ratio_p10": ("-", "p1 pair ratios, 10th percentile"),
    "p1_ratio_p90": ("-", "p1 pair ratios, 90th percentile"),
    "reversible_ratio": ("<= 1.3", "reversible mask (SIV tokens) on one string column of the 5M-row table / raw read"),
    "fpe_ratio": ("<= 4", "format-preserving mask (FF3-1 in the JVM), every value new, one string column / raw read"),
    "fpe_ratio_first": ("-", "the same, the process's first such query (JIT compilation included)"),
    "fpe_ratio_warm": ("-", "the same query again (its values remembered)"),
    "fpe_rows": ("-", "rows of the slice fpe_ratio is measured on"),
    "kanon_ratio": ("<= 2.5", "two-column k-anonymization (1% of rows in groups below K) of a 5M-row table / raw read"),
    "kanon_counted_ratio": ("-", "the same with the groups counted in each query (row filter, or table changed)"),
    "fingerprint_s": ("-", "fingerprint of the 5M-row table (statistics, exact distincts, one k group, version)"),
    "dp_query_ms": ("-", "one differentially private GROUP BY aggregate over the 5M-row table, end to end, fresh"),
    "dp_query_cached_ms": ("-", "the same DP query answered from the catalog's cache"),
    "udf_ratio": ("-", "the same masks as Python UDFs / native"),
    "p2_p50_ms": ("<= 10", "policy work per query (governed call - plain analysis of the text), 1k x 1k x 10k"),
    "p2_p99_ms": ("<= 50", "same, p99"),
    "p2_templates_built": ("-", "templates of enforcement built for those queries (identical enforcement is shared)"),
    "project_p2_p50_ms": ("-", "p2 acting under an equalized project of 1,000 members and 50 sources"),
    "project_p2_p99_ms": ("<= 1.1 x p2_p99_ms", "same, p99 (target: within 10% of p2_p99_ms)"),
    "entitlement_ms": ("<= 100", "recommended entitlement of that project, fresh snapshot, median of 3"),
    "audit_locked_p99_ms": (
        "<= 1000",
        "governed query + collect while another process holds the catalog's write lock, p99",
    ),
    "audit_locked_p50_ms": ("-", "same, p50"),
    "audit_free_p99_ms": ("-", "the same queries with the lock free, p99"),
    "audit_locked_lost": ("0", "audit records of those queries missing from the catalog after the lock is freed"),
    "tpcds_overhead_ms_p50": ("-", "planning time governed - raw, TPC-DS query set, no policy applying, warmed up"),
    "tpcds_overhead_ms_max": ("-", "same, the slowest query"),
    "hdfs_start_s": ("-", "MiniDFSCluster ready"),
    "gate_calls": ("-", "WebHDFS calls to grant + revoke one user via a gate directory (10k files)"),
    "walk_calls": ("-", "same by walking the tree"),
    "gate_s": ("-", "wall time, gate"),
    "walk_s": ("-", "wall time, walk"),
    "ws_grant_calls_10": (
        "= 10000 case",
        "NameNode calls to grant one member on a workspace of 10 files (and confirm it)",
    ),
    "ws_grant_calls_10000": ("= 10 case", "same on a workspace of 10,000 files"),
    "ws_switch_ms": ("<= 200", "a member's project switch until the grant is in force at the NameNode, median of 20"),
    "ws_switch_p90_ms": ("-", "same, p90"),
    "ws_enable_s": ("-", "enable a project's workspace (root check, directory, ACL, Hive database, records)"),
    "hms_start_s": ("-", "standalone Hive metastore ready (Thrift on 127.0.0.1, Derby)"),
    "ws_check_ms": ("-", "check of a 10,000-file workspace against the NameNode and the metastore, median of 5"),
    "ws_disable_ms": ("-", "disable with a member holding a grant, until the NameNode dropped the project's group"),
    "ws_purge_all_s": ("-", "purge --all of a 10,000-file workspace (data, Hive database, records)"),
    "ws_source_infer_s": ("<= 10", "schema and partitions of 1,000 Parquet files in 100 partitions, from footers"),
    "ws_source_infer_reads": ("-", "ranged reads that inference made (one a file)"),
    "ws_source_create_s": ("-", "source create --type hive of that tree (inference, table, partitions, registration)"),
    "idp_sync_full_s": ("-", "first sync of a slapd of 10,000 users in 500 nested groups into an empty catalog"),
    "idp_sync_incremental_s": ("<= 2", "incremental sync after 10 users changed (steady state), median of 3"),
    "idp_sync_first_incremental_s": ("-", "the first incremental after a bulk load (re-reads the load's second)"),
    "idp_sync_incremental_entries_read": ("-", "entries an incremental sync read in full (besides every DN)"),
    "object_rows_ratio": ("<= 1.3", "governed read of an object-backed source with xattr row security / raw read"),
    "object_rows_ratio_visible": ("-", "same / raw read of only the files the user sees"),
    "object_list_ms": ("-", "one listing of that source's 100 files with their xattrs (once per statement)"),
}


def _sections() -> dict[str, Callable[[], dict[str, Any]]]:
    def compile_section() -> dict[str, Any]:
        from bench.compile_bench import run
        from bench.scale_bench import run as scale

        return {**run(), **scale()}

    def policyfile_section() -> dict[str, Any]:
        from bench.hostile_bench import run as hostile
        from bench.policyfile_bench import run

        return {**run(), **hostile()}

    def spark_section() -> dict[str, Any]:
        from bench.spark_bench import run

        return run()

    def masks_section() -> dict[str, Any]:
        from bench.spark_bench import run

        return run(parts=("masks",))

    def hdfs_section() -> dict[str, Any]:
        from bench.hdfs_bench import run

        return run()

    def workspace_section() -> dict[str, Any]:
        from bench.workspace_bench import run

        return run()

    def ws_sources_section() -> dict[str, Any]:
        from bench.ws_sources_bench import run

        return run()

    def tpcds_section() -> dict[str, Any]:
        from bench.tpcds_bench import measure

        found = measure()
        found.pop("tpcds_per_query", None)  # per-query figures: python -m bench.tpcds_bench prints them
        return found

    def objects_section() -> dict[str, Any]:
        from bench.object_bench import run

        return run()

    def idp_section() -> dict[str, Any]:
        from bench.idp_bench import run

        return run()

    return {
        "idp": idp_section,
        "compile": compile_section,
        "policyfile": policyfile_section,
        "spark": spark_section,
        "masks": masks_section,
        "tpcds": tpcds_section,
        "hdfs": hdfs_section,
        "workspace": workspace_section,
        "ws_sources": ws_sources_section,
        "objects": objects_section,
    }


def main(argv: list[str]) -> int:
    """Run the chosen sections (all by default) and report."""
    sections = _sections()
    chosen = argv or list(sections)
    unknown = [c for c in chosen if c not in sections]
    if unknown:
        print(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(sections)}", file=sys.stderr)
        return 2
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in chosen:
        started = time.perf_counter()
        print(f"running {name} ...", flush=True)
        results.update(sections[name]())
        results[f"{name}_ran_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        print(f"  done in {time.perf_counter() - started:.0f}s", flush=True)
    results["machine"] = f"{platform.machine()}, {platform.python_version()}"
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    width = max(map(len, TARGETS))
    print(f"\n{'metric':<{width}} {'value':>10}  {'target':<8} what")
    for key, (target, what) in TARGETS.items():
        value = results.get(key, "-")
        print(f"{key:<{width}} {value!s:>10}  {target:<8} {what}")
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
