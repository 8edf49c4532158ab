"""``GovernedDataFrame``: the DataFrames a governed session hands out, guarded on every step.

A plain pyspark DataFrame analyzes whatever its methods are given (``selectExpr`` with a
scalar subquery, ``filter(F.expr("EXISTS (...)"))``) without the governed session seeing it,
and ``df.sparkSession`` is the raw session. A :class:`GovernedDataFrame` is a subclass of
pyspark's classic DataFrame on the same ``_jdf`` (``isinstance`` and chispa keep working), but
every method and property pyspark defines runs on a plain *shadow* DataFrame over the same
``_jdf`` and the raw session (so pyspark's own code works unchanged), and its result is
governed before it is handed back:

- a new DataFrame: its analyzed plan is guarded with the owning session's ``_check`` (a refusal
  raises :class:`UnenforcedPathError` and is audited) and it is wrapped again; the shadow
  itself (``cache``, ``persist``, ...) gives back the governed DataFrame, unchecked;
- ``GroupedData`` (``groupBy``, ``rollup``, ``cube``, ``groupingSets``, ``pivot``), ``na``,
  ``stat`` and cogrouped data: wrapped the same way, so their DataFrames are guarded too;
- writers (``write``, ``writeTo``): governed writers (:mod:`immuta_spark.spark.writers`), which
  refuse to change a governed table or its storage unless the user owns the source;
- anything else (rows, pandas frames, columns, RDDs of the guarded plan): as it is.

``sparkSession`` is the governed session. ``transform`` hands the governed DataFrame to the
function. ``sql_ctx`` and ``mergeInto`` are absent (they would hand out the raw session or run
expressions unchecked), and temporary views may not use the reserved prefix. ``pandas_api``
gives a pandas-on-Spark frame over the user's own Spark session, whose analyzer enforces every
plan that frame makes.

Code outside the DataFrame that builds ``DataFrame(jdf, df.sparkSession)`` (``F.broadcast``,
pyspark.ml transformers, ``Observation``) gets a guarded :class:`GovernedDataFrame` too: the
classic DataFrame's constructor gives one when it is handed a governed session. pyspark's
``inheritable_thread_target`` accepts a governed session (pyspark.ml's tuning hands it one).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from pyspark.sql.classic.dataframe import DataFrame as ClassicDataFrame

from immuta_spark.spark.errors import UnenforcedPathError
from immuta_spark.spark.guard import MARKER_ROOT
from immuta_spark.spark.internals import SessionInternals
from immuta_spark.spark.writers import GovernedWriter, GovernedWriterV2

__all__ = ["GovernedDataFrame", "GovernedProxy", "adopt"]

#: Members handing out the raw session or running expressions the guard never sees.
_ABSENT = {
    "sql_ctx": "it is the raw session's SQLContext",
    "mergeInto": "MERGE conditions and assignments would be analyzed without the guard",
}
#: Members defined here, or plumbing that must stay the classic DataFrame's own.
_OWN = frozenset(
    {
        "__init__", "__new__", "__class__", "__dict__", "__weakref__", "__module__", "__doc__",
        "__annotations__", "__getattribute__", "__setattr__", "__delattr__", "__init_subclass__",
        "__subclasshook__", "__reduce__", "__reduce_ex__", "__sizeof__", "__format__", "__eq__", "__ne__",
        "__hash__", "__dir__", "__class_getitem__", "__parameters__", "__orig_bases__", "__slots__",
        "__abstractmethods__", "_abc_impl", "sparkSession", "transform",
        "createTempView", "createOrReplaceTempView", "createGlobalTempView", "createOrReplaceGlobalTempView",
        "registerTempTable", "write", "writeTo",
    }
)  # fmt: skip


def _describe_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    shown = [repr(a)[:300] for a in args] + [f"{k}={v!r}"[:300] for k, v in kwargs.items()]
    return f"DataFrame.{name}({', '.join(shown)})"


def _check(session: SessionInternals, jdf: Any, what: str | Callable[[], str]) -> None:
    session._check_frame(jdf, what)


def adopt(session: SessionInternals, jdf: Any) -> GovernedDataFrame:
    """A GovernedDataFrame over ``jdf`` (already checked), owned by ``session``."""
    df = object.__new__(GovernedDataFrame)
    ClassicDataFrame.__init__(df, jdf, session._spark)
    df._governed = session
    return df


def _govern(
    value: Any, session: SessionInternals, owner: GovernedDataFrame | None, shadow: Any, what: str | Callable[[], str]
) -> Any:
    """``value`` as the governed session may hand it back (DataFrames guarded and wrapped).

    ``what`` names the call for the audit record of a refusal (a callable: made only then).
    """
    from pyspark.sql.classic.dataframe import DataFrameNaFunctions, DataFrameStatFunctions
    from pyspark.sql.group import GroupedData
    from pyspark.sql.pandas.group_ops import PandasCogroupedOps

    if isinstance(value, GovernedDataFrame):
        return value
    if isinstance(value, ClassicDataFrame):
        if owner is not None and value is shadow:
            return owner  # cache(), persist(), ...: the same DataFrame
        _check(session, value._jdf, what)
        return adopt(session, value._jdf)
    if isinstance(value, GroupedData | DataFrameNaFunctions | DataFrameStatFunctions | PandasCogroupedOps):
        return GovernedProxy(value, session)
    if isinstance(value, list | tuple) and value and all(isinstance(v, ClassicDataFrame) for v in value):
        return type(value)(_govern(v, session, owner, shadow, what) for v in value)
    return value


class GovernedProxy:
    """GroupedData, ``na``, ``stat`` or cogrouped data whose DataFrame results are guarded."""

    __slots__ = ("_governed", "_inner")

    def __init__(self, inner: Any, session: SessionInternals) -> None:
        self._inner = inner
        self._governed = session

    def __getattr__(self, name: str) -> Any:
        from pyspark.sql import SparkSession

        value = getattr(self._inner, name)
        session = self._governed
        if isinstance(value, SparkSession):
            return session  # GroupedData.session: the governed session, never the raw one
        if isinstance(value, ClassicDataFrame) and not isinstance(value, GovernedDataFrame):
            return adopt(session, value._jdf)  # na.df, GroupedData._df: the DataFrame it came from
        if name.startswith("_") or not callable(value):
            return value
        kind = type(self._inner).__name__

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(a._inner if isinstance(a, GovernedProxy) else a for a in args)
            with session._refusals_audited(lambda: f"{kind}.{name}"):
                result = value(*args, **kwargs)
            return _govern(result, session, None, None, f"{kind}.{name}")

        return call

    def __getitem__(self, key: Any) -> Any:
        return self._inner[key]

    def __repr__(self) -> str:
        return repr(self._inner)


class GovernedDataFrame(ClassicDataFrame):
    """A DataFrame of a governed session: every DataFrame it gives back is guarded first."""

    _governed: SessionInternals

    def __init__(self, jdf: Any, sql_ctx: Any) -> None:
        session = sql_ctx
        if not getattr(session, "_is_governed_session", False):
            raise TypeError("a GovernedDataFrame is made from a governed session (ImmutaSparkSession)")
        _check(session, jdf, "DataFrame(jdf, session)")
        ClassicDataFrame.__init__(self, jdf, session._spark)
        self._governed = session

    def _shadow(self) -> ClassicDataFrame:
        """A plain DataFrame on the same plan and the raw session: where pyspark's code runs."""
        shadow = object.__new__(ClassicDataFrame)
        ClassicDataFrame.__init__(shadow, self._jdf, self._session)
        shadow.is_cached = self.is_cached
        return shadow

    @property
    def sparkSession(self) -> Any:  # type: ignore[override]
        """The governed session (never the raw SparkSession)."""
        return self._governed

    def transform(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """As ``DataFrame.transform``; ``func`` is given this governed DataFrame."""
        result = func(self, *args, **kwargs)
        if not isinstance(result, ClassicDataFrame):
            raise AssertionError(f"Func returned an instance of type [{type(result)}], should have been DataFrame.")
        return _govern(result, self._governed, self, None, "DataFrame.transform")

    @property
    def write(self) -> GovernedWriter:
        """As ``DataFrame.write``; writing over a governed table or its storage needs ownership."""
        return GovernedWriter(self._shadow().write, self._governed, self)

    def writeTo(self, table: str) -> GovernedWriterV2:
        """As ``DataFrame.writeTo``; a governed target needs ownership, an overwrite condition is guarded."""
        return GovernedWriterV2(self._shadow().writeTo(table), self._governed, table, self)

    def _reads_others(self) -> bool:
        """Whether the plan reads governed data through enforcement for a source the user does not own."""
        return self._governed._enforcer.governor.reads_unowned(self._jdf.queryExecution().analyzed())

    def inputFiles(self) -> list[str]:
        """As ``DataFrame.inputFiles``; refused over governed data the user does not own.

        File names carry partition values, and the files of a governed table hold rows the user
        may not see (a row filter drops rows, not files).
        """
        if self._reads_others():
            raise UnenforcedPathError(
                "inputFiles() lists the files (and partition values) of a governed table, which hold rows you "
                "cannot see; it is available to the source's owners only"
            )
        return self._shadow().inputFiles()

    def explain(self, extended: bool | str | None = None, mode: str | None = None) -> None:
        """As ``DataFrame.explain``; the ``cost`` mode is refused over governed data the user does not own.

        Its statistics are the governed tables' own (raw row counts and sizes), not the user's view.
        """
        if "cost" in (mode, extended) and self._reads_others():
            raise UnenforcedPathError(
                "explain('cost') prints the statistics of the governed tables themselves (their raw row counts and "
                "sizes); use explain(), explain(True) or explain('formatted')"
            )
        self._shadow().explain(extended, mode)

    def _temp_view(self, kind: str, name: str, *args: Any) -> None:
        if str(name).lower().lstrip("`").startswith(MARKER_ROOT):
            raise UnenforcedPathError(f"names starting with {MARKER_ROOT} are reserved for the governed session")
        with self._governed._refusals_audited(f"DataFrame.{kind}({name!r})"):
            getattr(self._shadow(), kind)(name, *args)

    def createTempView(self, name: str) -> None:
        """As ``DataFrame.createTempView`` (reserved names refused)."""
        self._temp_view("createTempView", name)

    def createOrReplaceTempView(self, name: str) -> None:
        """As ``DataFrame.createOrReplaceTempView`` (reserved names refused)."""
        self._temp_view("createOrReplaceTempView", name)

    def createGlobalTempView(self, name: str) -> None:
        """As ``DataFrame.createGlobalTempView`` (reserved names refused)."""
        self._temp_view("createGlobalTempView", name)

    def createOrReplaceGlobalTempView(self, name: str) -> None:
        """As ``DataFrame.createOrReplaceGlobalTempView`` (reserved names refused)."""
        self._temp_view("createOrReplaceGlobalTempView", name)

    def registerTempTable(self, name: str) -> None:
        """As ``DataFrame.registerTempTable`` (reserved names refused)."""
        self._temp_view("createOrReplaceTempView", name)


def _method(name: str) -> Callable[..., Any]:
    def method(self: GovernedDataFrame, *args: Any, **kwargs: Any) -> Any:
        shadow = self._shadow()
        with self._governed._refusals_audited(lambda: _describe_call(name, args, kwargs)):
            result = getattr(shadow, name)(*args, **kwargs)
        self.is_cached = shadow.is_cached
        return _govern(result, self._governed, self, shadow, lambda: _describe_call(name, args, kwargs))

    method.__name__ = name
    method.__qualname__ = f"GovernedDataFrame.{name}"
    method.__doc__ = getattr(getattr(ClassicDataFrame, name, None), "__doc__", None)
    return method


def _property(name: str, cached: bool) -> property:
    key = f"_governed_cache_{name}"

    def get(self: GovernedDataFrame) -> Any:
        if cached and key in self.__dict__:
            return self.__dict__[key]
        shadow = self._shadow()
        with self._governed._refusals_audited(f"DataFrame.{name}"):
            value = getattr(shadow, name)
        value = _govern(value, self._governed, self, shadow, f"DataFrame.{name}")
        if cached:
            self.__dict__[key] = value
        return value

    get.__name__ = name
    return property(get, doc=getattr(getattr(ClassicDataFrame, name, None), "__doc__", None))


def _absent(name: str, why: str) -> property:
    def get(self: GovernedDataFrame) -> Any:
        raise AttributeError(f"'{name}' is not available on a governed DataFrame: {why}")

    return property(get)


def _install() -> None:
    """Route every member pyspark's DataFrame classes define through the shadow."""
    from functools import cached_property

    for klass in ClassicDataFrame.__mro__:
        if klass is object:
            continue
        for name, member in vars(klass).items():
            if name in _OWN or name in GovernedDataFrame.__dict__:
                continue
            if name in _ABSENT:
                setattr(GovernedDataFrame, name, _absent(name, _ABSENT[name]))
            elif isinstance(member, cached_property):
                setattr(GovernedDataFrame, name, _property(name, cached=True))
            elif isinstance(member, property):
                setattr(GovernedDataFrame, name, _property(name, cached=False))
            elif inspect.isfunction(member):
                setattr(GovernedDataFrame, name, _method(name))


def _install_constructor() -> None:
    """``DataFrame(jdf, governed_session)`` (F.broadcast, pyspark.ml, ...) gives a GovernedDataFrame."""
    original = ClassicDataFrame.__dict__["__new__"]
    original_new = original.__func__ if isinstance(original, staticmethod) else original
    if getattr(original_new, "_immuta_governed", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if cls is ClassicDataFrame:
            ctx = args[1] if len(args) > 1 else kwargs.get("sql_ctx")
            if getattr(ctx, "_is_governed_session", False):
                return object.__new__(GovernedDataFrame)  # its __init__ guards the plan
        return original_new(cls, *args, **kwargs)

    __new__._immuta_governed = True  # type: ignore[attr-defined]
    ClassicDataFrame.__new__ = staticmethod(__new__)  # type: ignore[assignment]


def _install_thread_target() -> None:
    """pyspark's ``inheritable_thread_target(session)`` accepts a governed session too.

    pyspark.ml's CrossValidator, TrainValidationSplit and OneVsRest hand ``dataset.sparkSession``
    (a governed session) to it, and it only takes a SparkSession: the raw session is given for
    what it does with one, copying job tags to the worker threads. No data goes through it.
    """
    import sys

    import pyspark
    import pyspark.util

    original = pyspark.util.inheritable_thread_target
    if getattr(original, "_immuta_governed", False):
        return

    @functools.wraps(original)
    def inheritable_thread_target(f: Any = None) -> Any:
        if getattr(f, "_is_governed_session", False):
            f = f._spark
        return original(f)

    inheritable_thread_target._immuta_governed = True  # type: ignore[attr-defined]
    pyspark.util.inheritable_thread_target = inheritable_thread_target  # type: ignore[assignment]
    pyspark.inheritable_thread_target = inheritable_thread_target  # type: ignore[assignment]
    for name in ("pyspark.ml.tuning", "pyspark.ml.classification"):  # imported before us: rebind theirs
        module = sys.modules.get(name)
        if module is not None and getattr(module, "inheritable_thread_target", None) is original:
            module.inheritable_thread_target = inheritable_thread_target  # type: ignore[attr-defined]


_install()
_install_constructor()
_install_thread_target()
