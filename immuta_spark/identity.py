"""Who is asking, outside Spark: the Hadoop identity rules of section 2 without a JVM.

Inside a Spark session the Spark layer asks Hadoop's ``UserGroupInformation`` directly. Here
(the CLI, scripts) the same rules are followed: with Kerberos on, the short name of the
ticket cache's principal; otherwise ``HADOOP_USER_NAME``, else the OS user.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess

from immuta_spark.errors import NotAuthorized

__all__ = ["current_user", "kerberos_enabled", "short_name"]


def kerberos_enabled() -> bool:
    """Whether Kerberos authentication is configured (``IMMUTA_SPARK_AUTH=kerberos``)."""
    return os.environ.get("IMMUTA_SPARK_AUTH", "simple").lower() == "kerberos"


def short_name(principal: str) -> str:
    """Hadoop's default short name of a Kerberos principal.

    >>> short_name("alice/host.example.com@EXAMPLE.COM")
    'alice'
    """
    return re.split(r"[/@]", principal, maxsplit=1)[0]


def current_user() -> str:
    """The authenticated user, as Hadoop would name it."""
    if kerberos_enabled():
        try:
            out = subprocess.run(["klist"], capture_output=True, text=True, check=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise NotAuthorized("Kerberos is on but no ticket was found: run kinit, then try again") from exc
        match = re.search(r"Default principal:\s*(\S+)", out)
        if not match:
            raise NotAuthorized("Kerberos is on but klist shows no default principal: run kinit, then try again")
        return short_name(match.group(1))
    return os.environ.get("HADOOP_USER_NAME") or getpass.getuser()
