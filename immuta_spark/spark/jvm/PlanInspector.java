// Walks Spark plans inside the JVM so that Python needs one py4j call per plan, not one per node.
// It only describes what it finds; every decision stays in Python (immuta_spark/spark/guard.py and
// refs.py), which gets the same description by py4j when this class is absent (the tests check both).
package io.immutaspark;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;


import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.UnresolvedIdentifier;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.analysis.UnresolvedTable;
import org.apache.spark.sql.catalyst.analysis.UnresolvedTableOrView;
import org.apache.spark.sql.catalyst.analysis.UnresolvedView;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.HiveTableRelation;
import org.apache.spark.sql.catalyst.plans.logical.InsertIntoStatement;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Sample;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.catalyst.plans.logical.UnresolvedWith;
import org.apache.spark.sql.catalyst.trees.Origin;
import org.apache.spark.sql.execution.command.DescribeQueryCommand;
import org.apache.spark.sql.execution.command.ExplainCommand;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;

public final class PlanInspector {
    static final char SEP = '\u0001';
    static final char PART = '\u0002';

    /** Python holds one instance and calls its methods through py4j: one round trip a call. */
    public PlanInspector() {}

    public String guard(LogicalPlan plan, String markerRoot) {
        return guardLines(plan, markerRoot);
    }

    /** Add the enforcement rules to the extensions of {@code root} (see Governor.install). */
    public void install(SparkSession root) {
        Governor.install(root);
    }

    /** See Governor.shareRelationCache. */
    public void shareRelationCache(SparkSession root, SparkSession session) {
        Governor.shareRelationCache(root, session);
    }

    /** Whether the rules reach {@code session}. */
    public boolean installed(SparkSession session) {
        return Governor.installed(session);
    }

    /** A Governor for {@code session}, asking {@code provider} (Python) for each source's decision. */
    public Governor governor(SparkSession session, String token, java.util.function.Function<Object, Object> provider) {
        return new Governor(session, token, provider);
    }

    public String walk(LogicalPlan start, boolean subqueries) {
        return walkLines(start, subqueries);
    }

    /** {@code sql} parsed by {@code session}'s own parser: one round trip, not three. */
    /** Reads of governed storage as the service identity (ServiceReads.java). */
    /** {@link Relations#listing} of a DataFrame's one relation (null when it has none, several, or no file index). */
    public String listing(org.apache.spark.sql.classic.Dataset<?> df) { return Governor.listingOf(df.queryExecution().analyzed()); }

    public ServiceReads.Control serviceReads() { return new ServiceReads.Control(); }

    /** The files of an object-backed source's location with their xattrs (see ObjectFiles.java). */
    public String objectFiles(SparkSession session, String location) throws java.io.IOException {
        return ObjectFiles.list(session, location);
    }

    /** The aggregate query a DataFrame analyzed in DP mode asks (see DpQuery.java). */
    public DpQuery dpQuery(org.apache.spark.sql.classic.Dataset<?> df) {
        return DpQuery.of(df.sparkSession(), df.queryExecution().analyzed());
    }

    public LogicalPlan parse(SparkSession session, String sql)
            throws org.apache.spark.sql.catalyst.parser.ParseException {
        return session.sessionState().sqlParser().parsePlan(sql);
    }

    /** The guard's description (see guardLines) of a DataFrame's analyzed plan: one round trip, not three. */
    public String guardDataset(org.apache.spark.sql.classic.Dataset<?> df, String markerRoot) {
        return guardLines(df.queryExecution().analyzed(), markerRoot);
    }

    /**
     * The column lineage of an analyzed plan (see Lineage.describe): "S" each governed source read under
     * {@code prefix}, "X" each stamp of other rules, then "C" per output column (name, then source and
     * column field pairs). Escaped as esc does.
     */
    public String lineage(LogicalPlan plan, String prefix) {
        return Lineage.describe(plan, prefix);
    }

    /** {@link #lineage} of a DataFrame's analyzed plan: one round trip. */
    public String lineageDataset(org.apache.spark.sql.classic.Dataset<?> df, String prefix) {
        return Lineage.describe(df.queryExecution().analyzed(), prefix);
    }

    /**
     * The current database as pyspark's catalog.currentDatabase() gives it ("D"), then each of
     * {@code names} (escaped as esc does, one a line) that is a temporary view of the session ("V").
     */
    public String sessionNames(SparkSession session, String names) {
        StringBuilder out = new StringBuilder();
        out.append('D').append(SEP).append(esc(session.catalog().currentDatabase())).append('\n');
        for (String line : names.split("\n", -1)) {
            if (line.isEmpty()) continue;
            String name = unesc(line);
            if (session.sessionState().catalog().getTempView(name).isDefined()) {
                out.append('V').append(SEP).append(esc(name)).append('\n');
            }
        }
        return out.toString();
    }

    /** The reverse of esc (jvm.py's escape makes the same form in Python). */
    static String unesc(String value) {
        if (value.indexOf('\\') < 0) return value;
        StringBuilder b = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '\\' || i + 1 == value.length()) {
                b.append(c);
                continue;
            }
            char n = value.charAt(++i);
            if (n == 'n') b.append('\n');
            else if (n == '1') b.append(SEP);
            else if (n == '2') b.append(PART);
            else b.append(n);
        }
        return b.toString();
    }

    /**
     * Everything refs.py needs of a parsed plan, in one call. First what its scan of the plan's
     * toJSON() found (the same JSON tree, read here as json4s values instead of rendered to text,
     * which costs tens of milliseconds on a large statement): "T" the root's class, "K" each
     * class, "I" an identifier (class, name text), "F" a function's name text, "P" a location,
     * "U" when a string anywhere holds {@code reserved}. Then the walk's lines (walkLines) from
     * the statement's query (an EXPLAIN's or DESCRIBE QUERY's inner plan).
     */
    public String describe(LogicalPlan plan, String reserved) {
        StringBuilder out = new StringBuilder();
        String root = plan.getClass().getSimpleName();
        out.append('T').append(SEP).append(esc(root)).append('\n');
        JsonScan scan = new JsonScan(reserved);
        scan.node(plan);
        boolean subqueries = false;
        for (String cls : scan.classes) {
            out.append('K').append(SEP).append(esc(cls)).append('\n');
            for (String marker : SUBQUERY_MARKERS) subqueries |= cls.contains(marker);
        }
        out.append(scan.out);
        if (scan.usesReserved) out.append('U').append('\n');
        LogicalPlan start = plan;
        if (root.equals("ExplainCommand")) start = ((ExplainCommand) plan).logicalPlan();
        else if (root.equals("DescribeQueryCommand")) start = ((DescribeQueryCommand) plan).plan();
        walk(start, new HashSet<>(), false, subqueries, out, -1);
        return out.toString();
    }

    private static final String[] SUBQUERY_MARKERS = {"Subquery", "ListQuery", "Exists", "LateralSubquery"};

    /**
     * A name or path made safe for the line format (backquoted names and paths may hold any
     * character): a backslash, a newline and the two separators become a backslash followed by
     * a backslash, n, 1 and 2. jvm.py's unescape reverses it.
     */
    static String esc(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\') b.append("\\\\");
            else if (c == '\n') b.append("\\n");
            else if (c == SEP) b.append("\\1");
            else if (c == PART) b.append("\\2");
            else b.append(c);
        }
        return b.toString();
    }

    /**
     * One line per enforced subtree ("E", its stamp), per marker alias ("M", name; nothing below either is visited) and per leaf ("L", class,
     * db, table, storage paths...: a table's location, or a file relation's root paths), over the
     * children and the expression subqueries of every node.
     */
    public static String guardLines(LogicalPlan plan, String markerRoot) {
        StringBuilder out = new StringBuilder();
        guard(plan, markerRoot, out);
        return out.toString();
    }

    private static void guard(LogicalPlan node, String markerRoot, StringBuilder out) {
        scala.Option<String> stamp = node.getTagValue(Governor.ENFORCED);
        if (stamp.isDefined()) {
            out.append('E').append(SEP).append(esc(stamp.get())).append('\n');
            return;
        }
        if (node instanceof SubqueryAlias) {
            String name = ((SubqueryAlias) node).alias();
            if (name.startsWith(markerRoot)) {
                out.append('M').append(SEP).append(esc(name)).append('\n');
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
                    while (paths.hasNext()) out.append(SEP).append(esc(paths.next().toString()));
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
                out.append(SEP).append(esc(ns.length > 0 ? ns[ns.length - 1] : "")).append(SEP)
                   .append(esc(rel.identifier().get().name()));
            }
            return;
        }
        if (table != null) {
            out.append(SEP).append(esc(table.identifier().database().getOrElse(() -> "")))
               .append(SEP).append(esc(table.identifier().table()));
            if (table.storage().locationUri().isDefined()) {
                out.append(SEP).append(esc(table.storage().locationUri().get().toString()));
            }
        }
    }

    /**
     * The relation references of a parsed plan, as refs.py's py4j walk finds them: "R" a rewritable
     * relation (start, stop, line, pos, aliased 1/0, alias_at, parts), "S" a span of any identifier
     * (class, start, stop, line, pos, parts), "C" a reference to a CTE (parts). Parts are joined by
     * U+0002; an absent line or position is empty. Lines come in the walk's order.
     */
    public static String walkLines(LogicalPlan start, Boolean subqueries) {
        StringBuilder out = new StringBuilder();
        walk(start, new HashSet<>(), false, subqueries, out, -1);
        return out.toString();
    }

    private static String parts(scala.collection.Seq<String> parts) {
        StringBuilder b = new StringBuilder();
        scala.collection.Iterator<String> it = parts.iterator();
        boolean first = true;
        while (it.hasNext()) {
            if (!first) b.append(PART);
            b.append(esc(it.next()));
            first = false;
        }
        return b.toString();
    }

    /** start, stop, line, pos of a node's origin joined by SEP; null when the parser kept no span. */
    private static int[] origin(LogicalPlan node) {
        Origin o = node.origin();
        if (!(o.startIndex().isDefined() && o.stopIndex().isDefined())) return null;
        return new int[] {
            (Integer) o.startIndex().get(), (Integer) o.stopIndex().get(),
            o.line().isDefined() ? (Integer) o.line().get() : Integer.MIN_VALUE,
            o.startPosition().isDefined() ? (Integer) o.startPosition().get() : Integer.MIN_VALUE,
        };
    }

    private static void where(int[] w, StringBuilder out) {
        out.append(SEP).append(w[0]).append(SEP).append(w[1]).append(SEP);
        if (w[2] != Integer.MIN_VALUE) out.append(w[2]);
        out.append(SEP);
        if (w[3] != Integer.MIN_VALUE) out.append(w[3]);
    }

    private static void span(String cls, int[] w, String parts, StringBuilder out) {
        out.append('S').append(SEP).append(cls);
        where(w, out);
        out.append(SEP).append(parts).append('\n');
    }

    private static void walk(
            LogicalPlan node, Set<String> ctes, boolean aliased, boolean subqueries, StringBuilder out, int aliasAt) {
        if (node instanceof UnresolvedRelation) {
            UnresolvedRelation rel = (UnresolvedRelation) node;
            scala.collection.Seq<String> ident = rel.multipartIdentifier();
            String parts = parts(ident);
            if (ident.size() == 1 && ctes.contains(ident.head().toLowerCase(Locale.ROOT))) {
                out.append('C').append(SEP).append(parts).append('\n');
                return;
            }
            int[] w = origin(node);
            if (w == null) return;
            span("UnresolvedRelation", w, parts, out);
            if (!rel.options().isEmpty()) return;
            out.append('R');
            where(w, out);
            out.append(SEP).append(aliased ? '1' : '0').append(SEP).append(aliasAt >= 0 ? aliasAt : w[1])
               .append(SEP).append(parts).append('\n');
            return;
        }
        if (node instanceof UnresolvedTable || node instanceof UnresolvedTableOrView || node instanceof UnresolvedView) {
            int[] w = origin(node);
            @SuppressWarnings("unchecked")
            scala.collection.Seq<String> ident = (scala.collection.Seq<String>) ((scala.Product) node).productElement(0);
            if (w != null) span(node.nodeName(), w, parts(ident), out);
            return;
        }
        if (node instanceof UnresolvedIdentifier) return;  // its origin is the whole statement
        if (node instanceof UnresolvedWith) {
            // A definition sees the definitions before it (and itself under WITH RECURSIVE), never later ones.
            UnresolvedWith with = (UnresolvedWith) node;
            // (name, body, ...): a Tuple2 in Spark 3, a Tuple3 in Spark 4.
            List<?> defs = scala.jdk.javaapi.CollectionConverters.asJava(with.cteRelations());
            boolean recursive = with.allowRecursion();
            Set<String> scope = new HashSet<>(ctes);
            for (Object def : defs) {
                scala.Product d = (scala.Product) def;
                String name = d.productElement(0).toString().toLowerCase(Locale.ROOT);
                if (recursive) scope.add(name);
                walk((LogicalPlan) d.productElement(1), new HashSet<>(scope), false, subqueries, out, -1);
                scope.add(name);
            }
            walk(with.child(), scope, false, subqueries, out, -1);
            return;
        }
        if (node instanceof InsertIntoStatement) {
            LogicalPlan target = ((InsertIntoStatement) node).table();
            if (target instanceof UnresolvedRelation) {
                int[] w = origin(target);
                if (w != null) span("InsertIntoStatement", w, parts(((UnresolvedRelation) target).multipartIdentifier()), out);
            }
        }
        int sampleEnd = -1;
        if (node instanceof Sample) {
            int[] w = origin(node);
            sampleEnd = w != null ? w[1] : -1;
        }
        scala.collection.Iterator<LogicalPlan> kids = node.children().iterator();
        while (kids.hasNext()) {
            LogicalPlan child = kids.next();
            if (node instanceof Sample) walk(child, ctes, aliased, subqueries, out, sampleEnd);
            else walk(child, ctes, node instanceof SubqueryAlias, subqueries, out, -1);
        }
        if (subqueries) {
            scala.collection.Iterator<LogicalPlan> subs = node.subqueries().iterator();
            while (subs.hasNext()) walk(subs.next(), ctes, false, subqueries, out, -1);
        }
    }
}
