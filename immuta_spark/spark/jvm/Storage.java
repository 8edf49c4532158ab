// What a governed session may read and write besides governed tables: files beneath the data roots
// (never the catalog, the metastore or keytabs, never a governed table's files but through the table),
// and JDBC databases by an allowed URL (never the metastore's or the catalog's).
package io.immutaspark;

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.jdbc.JDBCRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;
import org.apache.spark.sql.execution.datasources.v2.jdbc.JDBCTable;

final class Storage {
    private Storage() {}

    /** The JDBC URL a relation reads, or null when it is no JDBC relation. */
    static String jdbcUrl(LogicalPlan node) {
        if (node instanceof LogicalRelation && ((LogicalRelation) node).relation() instanceof JDBCRelation) {
            return ((JDBCRelation) ((LogicalRelation) node).relation()).jdbcOptions().url();
        }
        if (node instanceof DataSourceV2Relation && ((DataSourceV2Relation) node).table() instanceof JDBCTable) {
            return ((JDBCTable) ((DataSourceV2Relation) node).table()).jdbcOptions().url();
        }
        return null;
    }

    /** Refuse a JDBC database the session may not reach. */
    static void checkJdbc(Governor g, String url) {
        if (url != null && !g.jdbcAllowed(url)) {
            throw Errors.unenforced("JDBC databases are reachable from a governed session only by a URL an administrator "
                + "listed in spark.immuta.jdbcRoots (never the metastore's or the governance catalog's); ask one to add "
                + "yours, or read the data through a governed table");
        }
    }

    /** Qualified paths, refusing the forbidden ones (the catalog, the metastore, keytabs). */
    static List<String> qualified(Governor g, List<String> raw) {
        List<String> paths = new ArrayList<>();
        for (String p : raw) paths.add(g.qualify(p));  // once each: a Hadoop lookup, a stat
        for (String q : paths) {
            if (g.forbiddenOverlapQualified(q) != null) {
                throw Errors.unenforced("the files at " + q + " hold the governance catalog, the metastore or credentials "
                    + "and are never readable through a governed session");
            }
        }
        return paths;
    }

    /** Refuse a qualified path outside the data roots (``verb``: what the statement does with it). */
    static void checkRoot(Governor g, String q, String verb) {
        if (!g.underRoot(q)) {
            throw Errors.unenforced("a governed session " + verb + " files only beneath its data roots (" + String.join(", ", g.roots())
                + "), and " + q + " is not; ask an administrator to add a root (spark.immuta.dataRoots) or use a table");
        }
    }

    /**
     * A path a command writes, moves or lays a table over: not forbidden, within the data roots, and
     * on, beneath or above a governed table's storage only for the source's owners (a hidden one is
     * not named).
     */
    static void checkWrite(Governor g, String raw, String verb) {
        String q = qualified(g, List.of(raw)).get(0);
        String source = g.overlappingQualified(q);
        if (source != null) {
            Governor.Decision d = g.decide(source);
            if (d.kind == Governor.HIDDEN) {
                throw Errors.unenforced("this statement would write to or lay a table over the storage of a governed table; refused");
            }
            if (!d.owner) {
                throw Errors.denied(source, verb + " on the storage of a governed table is reserved to the source's owners");
            }
            return;  // the owner's own table's storage (its location is a data root in all but name)
        }
        checkRoot(g, q, "writes");
    }
}
