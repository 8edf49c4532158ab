// Walks Spark plans inside the JVM so that Python needs one py4j call per plan, not one per node.
// It only describes what it finds; every decision stays in Python (immuta_spark/spark/guard.py),
// which gets the same description from toJSON() when this class is absent.
package io.immutaspark;

import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.HiveTableRelation;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;

public final class PlanInspector {
    private static final char SEP = '\u0001';

    private PlanInspector() {}

    /**
     * One line per marker alias ("M", name; nothing below it is visited) and per leaf ("L", class,
     * db, table, storage paths...: a table's location, or a file relation's root paths), over the
     * children and the expression subqueries of every node.
     */
    public static String guardLines(LogicalPlan plan, String markerRoot) {
        StringBuilder out = new StringBuilder();
        guard(plan, markerRoot, out);
        return out.toString();
    }

    private static void guard(LogicalPlan node, String markerRoot, StringBuilder out) {
        if (node instanceof SubqueryAlias) {
            String name = ((SubqueryAlias) node).alias();
            if (name.startsWith(markerRoot)) {
                out.append('M').append(SEP).append(name).append('\n');
                return;
            }
        }
        scala.collection.Iterator<LogicalPlan> subs = node.subqueries().iterator();
        while (subs.hasNext()) guard(subs.next(), markerRoot, out);
        scala.collection.Iterator<LogicalPlan> kids = node.children().iterator();
        if (!kids.hasNext()) {
            out.append('L').append(SEP).append(node.getClass().getSimpleName());
            leaf(node, out);
            out.append('\n');
        }
        while (kids.hasNext()) guard(kids.next(), markerRoot, out);
    }

    private static void leaf(LogicalPlan node, StringBuilder out) {
        CatalogTable table = null;
        if (node instanceof LogicalRelation) {
            LogicalRelation rel = (LogicalRelation) node;
            if (rel.catalogTable().isDefined()) {
                table = rel.catalogTable().get();
            } else {
                out.append(SEP).append(SEP);
                if (rel.relation() instanceof HadoopFsRelation) {
                    scala.collection.Iterator<?> paths =
                        ((HadoopFsRelation) rel.relation()).location().rootPaths().iterator();
                    while (paths.hasNext()) out.append(SEP).append(paths.next().toString());
                } else {
                    out.append(SEP).append('<').append(rel.relation().getClass().getSimpleName()).append('>');
                }
                return;
            }
        } else if (node instanceof HiveTableRelation) {
            table = ((HiveTableRelation) node).tableMeta();
        } else if (node instanceof DataSourceV2Relation) {
            DataSourceV2Relation rel = (DataSourceV2Relation) node;
            if (rel.identifier().isDefined()) {
                String[] ns = rel.identifier().get().namespace();
                out.append(SEP).append(ns.length > 0 ? ns[ns.length - 1] : "").append(SEP)
                   .append(rel.identifier().get().name());
            }
            return;
        }
        if (table != null) {
            out.append(SEP).append(table.identifier().database().getOrElse(() -> ""))
               .append(SEP).append(table.identifier().table());
            if (table.storage().locationUri().isDefined()) {
                out.append(SEP).append(table.storage().locationUri().get().toString());
            }
        }
    }
}
