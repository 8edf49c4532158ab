// The errors the rules raise. Spark reports them as AnalysisException; the governed session maps the
// ones tagged [IMMUTA_...] back to its own error classes (immuta_spark/spark/errors.py).
package io.immutaspark;

import java.util.List;

import org.apache.spark.QueryContext;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.errors.QueryCompilationErrors;

final class Errors {
    static final String UNENFORCED = "[IMMUTA_UNENFORCED] ";
    static final String DENIED = "[IMMUTA_DENIED] ";
    static final String DP = "[IMMUTA_DP] ";

    private Errors() {}

    private static AnalysisException analysis(String message) {
        scala.collection.immutable.Map<String, String> none = scala.collection.immutable.Map$.MODULE$.empty();
        return new AnalysisException(
            message, scala.Option.empty(), scala.Option.empty(), scala.Option.empty(), scala.Option.empty(), none,
            new QueryContext[0]);
    }

    /** A governed relation reached in a way that is not enforced: the query is refused. */
    static RuntimeException unenforced(String message) {
        return unenforced(null, message);
    }

    /** As {@link #unenforced(String)}, naming the source for the audit record (never in the message). */
    static RuntimeException unenforced(String source, String message) {
        return sneaky(analysis(UNENFORCED + (source == null ? "" : source) + "\u0001" + message));
    }

    /** The user may see the source, but not do this with it. */
    static RuntimeException denied(String source, String message) {
        return sneaky(analysis(DENIED + source + "\u0001" + message));
    }

    /** A differentially private source reached by anything but an aggregate query the session answers. */
    static RuntimeException dp(String message) {
        return dp(null, message);
    }

    /** As {@link #dp(String)}, naming the source. */
    static RuntimeException dp(String source, String message) {
        return sneaky(analysis(DP + (source == null ? "" : source) + "\u0001" + message));
    }

    /** Spark's own TABLE_OR_VIEW_NOT_FOUND: a hidden table fails exactly like a missing one. */
    static RuntimeException notFound(List<String> parts) {
        return sneaky(QueryCompilationErrors.tableOrViewNotFound(
            scala.jdk.javaapi.CollectionConverters.asScala(parts).toList()));
    }

    /** Spark's own PATH_NOT_FOUND: a path inside a hidden table's storage fails like a missing one. */
    static RuntimeException pathNotFound(String path) {
        return sneaky(QueryCompilationErrors.dataPathNotExistError(path));
    }

    /** The not-found error for a hidden source's relation: by the table's name, else the source's. */
    static RuntimeException notFound(org.apache.spark.sql.catalyst.plans.logical.LogicalPlan leaf, String source) {
        String[] name = Relations.name(leaf);
        return notFound(name != null ? java.util.Arrays.asList(name) : List.of(source));
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneaky(Throwable t) throws E {
        throw (E) t;
    }
}
