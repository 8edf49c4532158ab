// What a leaf of an analyzed plan reads: a catalog table (by name) and the storage paths behind it.
package io.immutaspark;

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.HiveTableRelation;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;

final class Relations {
    private Relations() {}

    /** Whether the node reads a table or files (a leaf the rules must decide about). */
    static boolean isRelation(LogicalPlan node) {
        return node instanceof LogicalRelation || node instanceof HiveTableRelation || node instanceof DataSourceV2Relation;
    }

    static CatalogTable catalogTable(LogicalPlan node) {
        if (node instanceof LogicalRelation) {
            LogicalRelation rel = (LogicalRelation) node;
            return rel.catalogTable().isDefined() ? rel.catalogTable().get() : null;
        }
        if (node instanceof HiveTableRelation) return ((HiveTableRelation) node).tableMeta();
        return null;
    }

    /** {db, table} of the relation, or null when it names none (a path read). */
    static String[] name(LogicalPlan node) {
        CatalogTable t = catalogTable(node);
        if (t != null) {
            return new String[] {t.identifier().database().getOrElse(() -> ""), t.identifier().table()};
        }
        if (node instanceof DataSourceV2Relation) {
            DataSourceV2Relation rel = (DataSourceV2Relation) node;
            if (rel.identifier().isDefined()) {
                String[] ns = rel.identifier().get().namespace();
                return new String[] {ns.length > 0 ? ns[ns.length - 1] : "", rel.identifier().get().name()};
            }
        }
        return null;
    }

    /** The storage the relation reads: a table's location, or a file relation's root paths. */
    static List<String> paths(LogicalPlan node) {
        List<String> out = new ArrayList<>();
        CatalogTable t = catalogTable(node);
        if (t != null) {
            if (t.storage().locationUri().isDefined()) out.add(t.storage().locationUri().get().toString());
            return out;
        }
        if (node instanceof LogicalRelation && ((LogicalRelation) node).relation() instanceof HadoopFsRelation) {
            scala.collection.Iterator<?> it =
                ((HadoopFsRelation) ((LogicalRelation) node).relation()).location().rootPaths().iterator();
            while (it.hasNext()) out.add(it.next().toString());
        }
        return out;
    }

    /** Whether the relation's storage is unknown to us (a JDBC or other non-file source without a table). */
    static boolean opaque(LogicalPlan node) {
        return catalogTable(node) == null && name(node) == null && paths(node).isEmpty();
    }
}
