// The analyzer rule: every relation of a governed table or location, wherever it sits in a plan (SQL,
// DataFrame methods, EXECUTE IMMEDIATE, SQL functions, views' bodies, CTEs, subqueries, commands'
// queries), is replaced by its enforced plan: the row filter and masks Python compiled, instantiated
// over this very relation. The enforced Project carries Governor.ENFORCED, so the rule is idempotent
// (the analyzer runs it to a fixed point) and a subtree made under older rules is enforced afresh.
package io.immutaspark;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.MultiInstanceRelation;
import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.ExprId;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression$;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.plans.logical.DeleteFromTable;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.MergeIntoTable;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.plans.logical.Project$;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.catalyst.plans.logical.UpdateTable;
import org.apache.spark.sql.catalyst.rules.Rule;

public final class EnforceRule extends Rule<LogicalPlan> {
    private final SparkSession session;

    public EnforceRule(SparkSession session) {
        this.session = session;
    }

    @Override
    public LogicalPlan apply(LogicalPlan plan) {
        Governor g = Governor.of(session);
        if (g == null) return plan;
        return walk(plan, g);
    }

    private LogicalPlan walk(LogicalPlan node, Governor g) {
        scala.Option<String> stamp = node.getTagValue(Governor.ENFORCED);
        if (stamp.isDefined()) {
            if (stamp.get().startsWith(g.prefix())) return node;
            return reenforce(node, g);
        }
        if (Relations.isRelation(node)) return enforceLeaf(node, node, g);
        LogicalPlan out;
        if (isRowLevelWrite(node)) {
            // The target of DELETE / UPDATE / MERGE is written, not read: GuardCheck lets only owners
            // near it. MERGE's source is read like any query.
            out = node instanceof MergeIntoTable
                ? node.withNewChildren(seq(List.of(((MergeIntoTable) node).targetTable(),
                    walk(((MergeIntoTable) node).sourceTable(), g))))
                : node;
        } else {
            out = node.mapChildren(c -> walk(c, g));
        }
        if (!out.subqueries().isEmpty()) {
            out = out.mapExpressions(e -> e.transformDown(scala.PartialFunction.<Expression, Expression>fromFunction((Expression x) -> {
                if (x instanceof SubqueryExpression) {
                    SubqueryExpression s = (SubqueryExpression) x;
                    LogicalPlan walked = walk(s.plan(), g);
                    return walked == s.plan() ? x : s.withNewPlan(walked);
                }
                return x;
            })));
        }
        return out;
    }

    static boolean isRowLevelWrite(LogicalPlan node) {
        return node instanceof DeleteFromTable || node instanceof UpdateTable || node instanceof MergeIntoTable;
    }

    /**
     * The governed source {@code leaf} reads, or null; a read of governed storage in any other way,
     * of the catalog's, the metastore's or credentials' files, of files outside the data roots, or of
     * a JDBC database not allowed, is refused.
     */
    static String sourceOf(LogicalPlan leaf, Governor g) {
        String[] name = Relations.name(leaf);
        String source = name == null ? null : g.source(name[0], name[1]);
        if (source != null) return source;  // a governed table by name: enforced as that table
        Storage.checkJdbc(g, Storage.jdbcUrl(leaf));
        List<String> paths = Storage.qualified(g, Relations.paths(leaf));
        if (name == null && paths.size() == 1) {
            source = g.sourceAtQualified(paths.get(0));
            if (source != null) return source;
        }
        for (String q : paths) {
            String s = g.overlappingQualified(q);
            if (s != null) {
                boolean hidden = g.decide(s).kind == Governor.HIDDEN;
                // Inside a hidden table's storage: the files do not exist for this user, as any missing path.
                if (hidden && g.beneathStorage(q)) throw Errors.pathNotFound(q);
                throw Errors.unenforced(s, "this query reads files of " + (hidden ? "a governed table" : "governed data source '" + s + "'")
                    + " (" + q + ") directly; read the table through the governed session instead (session.table or SQL on its name)");
            }
        }
        for (String q : paths) Storage.checkRoot(g, q, "reads");
        return null;
    }

    private static LogicalPlan enforceLeaf(LogicalPlan leaf, LogicalPlan outputsOf, Governor g) {
        String source = sourceOf(leaf, g);
        if (source == null) return leaf;
        Governor.Decision d = g.decide(source);
        if (d.kind == Governor.HIDDEN) throw Errors.notFound(leaf, source);
        if (d.kind == Governor.DENIED) throw Errors.denied(source, d.message);
        if (d.kind == Governor.FAILED) throw Errors.unenforced(source, d.message);
        if (d.kind == Governor.PRIVATE && !g.inPrivate()) throw Errors.dp(source, DpQuery.ALLOWED
            + "; read it with session.sql('SELECT ... FROM <table> ... GROUP BY ...'), not a DataFrame, view or command");
        LogicalPlan out = instantiate(g.templateFor(source, d, leaf), leaf, outputsOf.output(), g.prefix() + source);
        if (d.kind == Governor.PRIVATE) out.setTagValue(Governor.DP, source);
        return out;
    }

    /** An enforced subtree made under older rules (or another session's): enforce its relation again. */
    private static LogicalPlan reenforce(LogicalPlan node, Governor g) {
        LogicalPlan leaf = relationOf(node);
        if (leaf == null) throw Errors.unenforced("an enforced subtree lost its table; refused (fail closed)");
        return enforceLeaf(leaf, node, g);
    }

    /**
     * The one relation leaf of an enforced subtree or template (expression subqueries aside). A
     * k-anonymization joins the table's group counts back onto its rows, so a template may read its
     * relation more than once: every read must be the same relation (then the first, the rows' side,
     * is returned); anything else is null.
     */
    static LogicalPlan relationOf(LogicalPlan node) {
        List<LogicalPlan> found = new ArrayList<>();
        relations(node, found);
        if (found.isEmpty()) return null;
        LogicalPlan first = found.get(0);
        for (LogicalPlan r : found) if (r != first && !r.sameResult(first)) return null;
        return first;
    }

    /** Every relation leaf beneath {@code node}, left to right (expression subqueries aside). */
    private static void relations(LogicalPlan node, List<LogicalPlan> out) {
        if (Relations.isRelation(node)) {
            out.add(node);
            return;
        }
        scala.collection.Iterator<LogicalPlan> kids = node.children().iterator();
        while (kids.hasNext()) relations(kids.next(), out);
    }

    /**
     * The template (Python's enforced plan, analyzed over a relation r0 of the same table) made over
     * {@code relation}: r0 (each read of it, when a k-anonymization reads it twice) becomes a fresh
     * instance of {@code relation}, every attribute the template
     * defines gets a fresh id, and the outputs take the ids of {@code outputs} (the relation's, so
     * references already resolved against it stay valid) where name and type agree.
     */
    static LogicalPlan instantiate(LogicalPlan template, LogicalPlan relation, scala.collection.immutable.Seq<Attribute> outputs, String stamp) {
        LogicalPlan r0 = relationOf(template);
        if (r0 == null || !(template instanceof Project)) {
            throw Errors.unenforced("the enforcement of a governed table has an unexpected shape; refused (fail closed)");
        }
        List<LogicalPlan> reads = new ArrayList<>();
        relations(template, reads);
        if (reads.size() > 1 && !(relation instanceof MultiInstanceRelation)) {
            throw Errors.unenforced("the enforcement of a governed table reads it twice, and this relation cannot be "
                + "read twice in one plan; refused (fail closed)");
        }
        // Each read of the template's relation (the rows, and a k-anonymization's group counts) becomes
        // a fresh instance of the user's relation: same data, attributes of its own.
        Map<LogicalPlan, LogicalPlan> fresh = new IdentityHashMap<>();
        Map<ExprId, Attribute> map = new HashMap<>();
        for (LogicalPlan read : reads) {
            LogicalPlan instance = relation instanceof MultiInstanceRelation ? ((MultiInstanceRelation) relation).newInstance() : relation;
            fresh.put(read, instance);
            Map<String, Attribute> byName = byName(instance.output());
            scala.collection.Iterator<Attribute> it = read.output().iterator();
            while (it.hasNext()) {
                Attribute a0 = it.next();
                Attribute a1 = byName.get(a0.name().toLowerCase(Locale.ROOT));
                if (a1 == null || !a1.dataType().sameType(a0.dataType())) {
                    throw Errors.unenforced("the table's columns changed since its policies were compiled (" + a0.name()
                        + "); run the query again");
                }
                map.put(a0.exprId(), a1);
            }
        }
        Project body = (Project) rebuild(template, fresh, map);
        Map<String, Attribute> keep = byName(outputs);
        List<NamedExpression> list = new ArrayList<>();
        scala.collection.Iterator<NamedExpression> cols = body.projectList().iterator();
        while (cols.hasNext()) {
            NamedExpression ne = cols.next();
            Expression child = ne instanceof Alias ? ((Alias) ne).child() : (Expression) ne;
            Attribute old = keep.get(ne.name().toLowerCase(Locale.ROOT));
            ExprId id = old != null && old.dataType().sameType(((Expression) ne).dataType()) ? old.exprId() : NamedExpression$.MODULE$.newExprId();
            scala.collection.immutable.Seq<String> none = seq(List.<String>of());
            scala.Option<org.apache.spark.sql.types.Metadata> meta =
                ne instanceof Alias ? ((Alias) ne).explicitMetadata() : scala.Option.empty();
            list.add(new Alias(child, ne.name(), id, none, meta, none));
        }
        Project top = new Project(seq(list), body.child());
        top.setTagValue(Governor.ENFORCED, stamp);
        // No metadata columns above enforcement: _metadata.file_path and its kin name the files (and
        // partition values) of rows the user may not see, so they do not resolve over a governed table.
        top.setTagValue(Project$.MODULE$.hiddenOutputTag(), seq(List.<Attribute>of()));
        return top;
    }

    private static Map<String, Attribute> byName(scala.collection.Seq<Attribute> attrs) {
        Map<String, Attribute> m = new HashMap<>();
        scala.collection.Iterator<Attribute> it = attrs.iterator();
        while (it.hasNext()) {
            Attribute a = it.next();
            m.putIfAbsent(a.name().toLowerCase(Locale.ROOT), a);
        }
        return m;
    }

    private static LogicalPlan rebuild(LogicalPlan n, Map<LogicalPlan, LogicalPlan> fresh, Map<ExprId, Attribute> map) {
        LogicalPlan instance = fresh.get(n);
        if (instance != null) return instance;
        if (n instanceof SubqueryAlias && fresh.containsKey(((SubqueryAlias) n).child())) return fresh.get(((SubqueryAlias) n).child());
        LogicalPlan kids = n.mapChildren(c -> rebuild(c, fresh, map));
        return kids.mapExpressions(e -> e.transformUp(scala.PartialFunction.<Expression, Expression>fromFunction((Expression x) -> {
            if (x instanceof AttributeReference) {
                Attribute to = map.get(((AttributeReference) x).exprId());
                return to != null ? to : x;
            }
            if (x instanceof Alias) {
                Alias a = (Alias) x;
                NamedExpression copy = a.newInstance();
                map.put(a.exprId(), copy.toAttribute());
                return (Expression) copy;
            }
            return x;
        })));
    }

    static <T> scala.collection.immutable.Seq<T> seq(List<T> items) {
        return scala.jdk.javaapi.CollectionConverters.asScala(items).toList();
    }
}
