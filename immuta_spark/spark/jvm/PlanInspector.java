// Walks Spark plans inside the JVM so that Python needs one py4j call per plan, not one per node.
// It only describes what it finds; every decision stays in Python (immuta_spark/spark/guard.py
// and refs.py), which can also get the same description from toJSON() when this class is absent.
package io.immutaspark;

import java.util.HashSet;
import java.util.Set;

import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.HiveTableRelation;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.catalyst.plans.logical.UnresolvedWith;
import org.apache.spark.sql.catalyst.trees.Origin;
import org.apache.spark.sql.catalyst.trees.TreeNode;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;

public final class PlanInspector {
    private static final char SEP = '\u0001';
    private static final char PART = '\u0002';

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

    /**
     * References of a parsed plan: "R" rewritable relation (start, stop, line, pos, aliased, parts),
     * "C" a CTE reference (parts); then "I" every identifier node anywhere (class, parts) and "K"
     * every node class, found through every field of every node.
     */
    public static String referenceLines(LogicalPlan plan, LogicalPlan walkFrom) {
        StringBuilder out = new StringBuilder();
        walk(walkFrom, new HashSet<>(), false, out);
        Set<String> classes = new HashSet<>();
        scan(plan, out, classes, java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        for (String c : classes) out.append('K').append(SEP).append(c).append('\n');
        return out.toString();
    }

    private static String parts(scala.collection.Seq<String> parts) {
        StringBuilder b = new StringBuilder();
        scala.collection.Iterator<String> it = parts.iterator();
        boolean first = true;
        while (it.hasNext()) {
            if (!first) b.append(PART);
            b.append(it.next());
            first = false;
        }
        return b.toString();
    }

    private static void walk(LogicalPlan node, Set<String> ctes, boolean aliased, StringBuilder out) {
        if (node instanceof UnresolvedRelation) {
            UnresolvedRelation rel = (UnresolvedRelation) node;
            scala.collection.Seq<String> ident = rel.multipartIdentifier();
            if (ident.size() == 1 && ctes.contains(ident.head().toLowerCase(java.util.Locale.ROOT))) {
                out.append('C').append(SEP).append(parts(ident)).append('\n');
                return;
            }
            Origin o = rel.origin();
            if (o.startIndex().isDefined() && o.stopIndex().isDefined()) {
                out.append('R').append(SEP).append(o.startIndex().get()).append(SEP).append(o.stopIndex().get())
                   .append(SEP).append(o.line().isDefined() ? o.line().get().toString() : "")
                   .append(SEP).append(o.startPosition().isDefined() ? o.startPosition().get().toString() : "")
                   .append(SEP).append(aliased ? '1' : '0').append(SEP).append(parts(ident)).append('\n');
            }
            return;
        }
        if (node instanceof UnresolvedWith) {
            UnresolvedWith with = (UnresolvedWith) node;
            Set<String> scope = new HashSet<>(ctes);
            scala.collection.Iterator<?> defs = with.cteRelations().iterator();
            java.util.List<LogicalPlan> bodies = new java.util.ArrayList<>();
            while (defs.hasNext()) {
                scala.Product def = (scala.Product) defs.next();
                scope.add(def.productElement(0).toString().toLowerCase(java.util.Locale.ROOT));
                bodies.add((LogicalPlan) def.productElement(1));
            }
            for (LogicalPlan body : bodies) walk(body, scope, false, out);
            walk(with.child(), scope, false, out);
            return;
        }
        scala.collection.Iterator<LogicalPlan> kids = node.children().iterator();
        while (kids.hasNext()) walk(kids.next(), ctes, node instanceof SubqueryAlias, out);
        scala.collection.Iterator<LogicalPlan> subs = node.subqueries().iterator();
        while (subs.hasNext()) walk(subs.next(), ctes, false, out);
    }

    private static void scan(Object value, StringBuilder out, Set<String> classes, Set<Object> seen) {
        if (value == null || !seen.add(value)) return;
        if (value instanceof TreeNode) {
            String name = value.getClass().getSimpleName();
            classes.add(name);
            if (value instanceof UnresolvedRelation) {
                out.append('I').append(SEP).append(name).append(SEP)
                   .append(parts(((UnresolvedRelation) value).multipartIdentifier())).append('\n');
            } else if (name.equals("UnresolvedTable") || name.equals("UnresolvedTableOrView")
                    || name.equals("UnresolvedView") || name.equals("UnresolvedIdentifier")) {
                Object ident = ((scala.Product) value).productElement(0);
                if (ident instanceof scala.collection.Seq) {
                    @SuppressWarnings("unchecked")
                    scala.collection.Seq<String> seq = (scala.collection.Seq<String>) ident;
                    out.append('I').append(SEP).append(name).append(SEP).append(parts(seq)).append('\n');
                }
            }
        }
        if (value instanceof scala.Product && !(value instanceof String)) {
            scala.collection.Iterator<Object> it = ((scala.Product) value).productIterator();
            while (it.hasNext()) scan(it.next(), out, classes, seen);
        } else if (value instanceof scala.collection.Iterable) {
            scala.collection.Iterator<?> it = ((scala.collection.Iterable<?>) value).iterator();
            while (it.hasNext()) scan(it.next(), out, classes, seen);
        } else if (value instanceof scala.Option) {
            scala.Option<?> opt = (scala.Option<?>) value;
            if (opt.isDefined()) scan(opt.get(), out, classes, seen);
        }
    }
}
