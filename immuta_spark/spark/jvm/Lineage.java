// Column lineage of an analyzed (enforced) plan: which governed sources it reads, and for each output
// column the (source, source column) pairs its value is computed from. One walk in the JVM, so Python
// needs one py4j call (PlanInspector.lineage). It describes; Python decides (immuta_spark/spark/lineage.py).
package io.immutaspark;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.ExprId;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.OuterReference;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.plans.QueryPlan;
import org.apache.spark.sql.catalyst.plans.logical.Aggregate;
import org.apache.spark.sql.catalyst.plans.logical.CTERelationDef;
import org.apache.spark.sql.catalyst.plans.logical.CTERelationRef;
import org.apache.spark.sql.catalyst.plans.logical.Except;
import org.apache.spark.sql.catalyst.plans.logical.Expand;
import org.apache.spark.sql.catalyst.plans.logical.Generate;
import org.apache.spark.sql.catalyst.plans.logical.Intersect;
import org.apache.spark.sql.catalyst.plans.logical.Join;
import org.apache.spark.sql.catalyst.plans.logical.LateralJoin;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.plans.logical.Union;
import org.apache.spark.sql.catalyst.plans.logical.UnionLoop;
import org.apache.spark.sql.catalyst.plans.logical.UnionLoopRef;
import org.apache.spark.sql.catalyst.plans.logical.Window;
import org.apache.spark.sql.catalyst.plans.logical.WithCTE;

/**
 * The lineage walk. Each node's visit gives, for every attribute of its output (by ExprId), the set of
 * (source, column) pairs the attribute's value is computed from:
 * <ul>
 * <li>an enforced subtree (tagged Governor.ENFORCED): its output {@code c} comes from (source, {@code c});
 *     nothing inside it is visited (its inside is the policy's);</li>
 * <li>Project, Aggregate, Window, Generate: each new attribute from every attribute its expression refers
 *     to (a window's partitioning and ordering and an aggregate's FILTER clause included); an expression
 *     subquery in such an expression (a scalar subquery in a select list) adds every output of the subquery;</li>
 * <li>Union and Intersect positionally over every child; Except from its left side (the right one only
 *     removes rows); Expand positionally over its projections; WithCTE / CTE references positionally
 *     from the definition; a recursive CTE (UnionLoop): every column from every column of both sides,
 *     to a fixed point;</li>
 * <li>Join, LateralJoin and the row-only nodes (Filter, Sort, limits, Distinct, SubqueryAlias, View, ...)
 *     pass their children's attributes through: conditions, join keys and sort keys add nothing;</li>
 * <li>any other node (conservatively): a new attribute from every attribute of its children, inner
 *     children and expression subqueries; an attribute it keeps from a child also from everything its
 *     own expressions refer to (it may compute a column under the child's id).</li>
 * </ul>
 * Every enforced subtree is collected as a read source, wherever it sits: children, expression
 * subqueries (WHERE ... IN (SELECT ...)), CTE definitions.
 */
final class Lineage {
    private static final char SEP = '\u0001';

    /** One (source, column) pair. */
    record Dep(String source, String column) {}

    /** The attributes visible to a node's expressions (its children's), then those of enclosing queries. */
    private static final class Scope {
        final Map<ExprId, Set<Dep>> attrs;
        final Scope outer;

        Scope(Map<ExprId, Set<Dep>> attrs, Scope outer) {
            this.attrs = attrs;
            this.outer = outer;
        }
    }

    private static final String LOGICAL = "org.apache.spark.sql.catalyst.plans.logical.";
    /** Nodes that only drop, reorder, repeat or relabel rows: each output attribute is its child's. */
    private static final Set<String> PASS_THROUGH = Set.of(
        LOGICAL + "Filter", LOGICAL + "Sort", LOGICAL + "GlobalLimit", LOGICAL + "LocalLimit", LOGICAL + "Offset",
        LOGICAL + "Tail", LOGICAL + "Distinct", LOGICAL + "Deduplicate", LOGICAL + "DeduplicateWithinWatermark",
        LOGICAL + "SubqueryAlias", LOGICAL + "View", LOGICAL + "Sample", LOGICAL + "Repartition",
        LOGICAL + "RepartitionByExpression", LOGICAL + "RebalancePartitions", LOGICAL + "ResolvedHint",
        LOGICAL + "CTERelationDef", LOGICAL + "EventTimeWatermark", LOGICAL + "CollectMetrics", LOGICAL + "Subquery");

    private final String prefix;
    private final Set<String> sources = new LinkedHashSet<>();
    private final Set<String> stale = new LinkedHashSet<>();
    private final Map<Long, List<Set<Dep>>> ctes = new HashMap<>();
    private final Map<Long, Set<Dep>> loops = new HashMap<>();
    private final Map<LogicalPlan, Map<ExprId, Set<Dep>>> subqueries = new IdentityHashMap<>();

    private Lineage(String prefix) {
        this.prefix = prefix;
    }

    /**
     * The lineage of {@code plan} as lines: "S" a governed source read under {@code prefix} (once each, in
     * the order met); "X" the stamp of an enforced subtree made under other rules; then "C" per output
     * column in order: its name, then (source, column) field pairs. Every field is escaped (PlanInspector.esc).
     */
    static String describe(LogicalPlan plan, String prefix) {
        Lineage walk = new Lineage(prefix);
        Map<ExprId, Set<Dep>> top = walk.visit(plan, null);
        StringBuilder out = new StringBuilder();
        for (String s : walk.sources) out.append('S').append(SEP).append(PlanInspector.esc(s)).append('\n');
        for (String s : walk.stale) out.append('X').append(SEP).append(PlanInspector.esc(s)).append('\n');
        scala.collection.Iterator<Attribute> it = plan.output().iterator();
        while (it.hasNext()) {
            Attribute a = it.next();
            Set<Dep> deps = top.get(a.exprId());
            if (deps == null) deps = all(top.values());  // not expected: every visit covers its output
            out.append('C').append(SEP).append(PlanInspector.esc(a.name()));
            for (Dep d : deps) {
                out.append(SEP).append(PlanInspector.esc(d.source())).append(SEP).append(PlanInspector.esc(d.column()));
            }
            out.append('\n');
        }
        return out.toString();
    }

    /** The dependencies of every attribute of {@code node}'s output. */
    private Map<ExprId, Set<Dep>> visit(LogicalPlan node, Scope outer) {
        scala.Option<String> stamp = node.getTagValue(Governor.ENFORCED);
        if (stamp.isDefined()) return enforced(node, stamp.get());
        if (node instanceof WithCTE) return withCte((WithCTE) node, outer);
        if (node instanceof CTERelationRef) return cteRef((CTERelationRef) node);
        if (node instanceof UnionLoop) return unionLoop((UnionLoop) node, outer);
        if (node instanceof UnionLoopRef) return loopRef((UnionLoopRef) node);

        List<Map<ExprId, Set<Dep>>> kids = new ArrayList<>();
        Map<ExprId, Set<Dep>> in = new HashMap<>();
        scala.collection.Iterator<LogicalPlan> children = node.children().iterator();
        while (children.hasNext()) {
            Map<ExprId, Set<Dep>> m = visit(children.next(), outer);
            kids.add(m);
            in.putAll(m);
        }
        Scope scope = new Scope(in, outer);
        scala.collection.Iterator<LogicalPlan> subs = node.subqueries().iterator();
        while (subs.hasNext()) subquery(subs.next(), scope);  // every source read, whatever the expression

        if (node instanceof Project) return named(((Project) node).projectList(), scope);
        if (node instanceof Aggregate) return named(((Aggregate) node).aggregateExpressions(), scope);
        if (node instanceof Window) {
            Map<ExprId, Set<Dep>> made = named(((Window) node).windowExpressions(), scope);
            return keep(node, scope, made);
        }
        if (node instanceof Generate) {
            Generate g = (Generate) node;
            Set<Dep> deps = deps((Expression) g.generator(), scope);
            Map<ExprId, Set<Dep>> made = new HashMap<>();
            scala.collection.Iterator<Attribute> gen = g.generatorOutput().iterator();
            while (gen.hasNext()) made.put(gen.next().exprId(), deps);
            return keep(node, scope, made);
        }
        if (node instanceof Expand) return expand((Expand) node, scope);
        if (node instanceof Union || node instanceof Intersect) return positional(node, kids);
        if (node instanceof Except) return positional(node, kids.subList(0, 1));
        if (node instanceof Join) return keep(node, scope, Map.of());
        if (node instanceof LateralJoin) {
            return keep(node, scope, subquery(((LateralJoin) node).right().plan(), scope));
        }
        if (PASS_THROUGH.contains(node.getClass().getName())) return keep(node, scope, Map.of());
        return unknown(node, scope, kids);
    }

    private Map<ExprId, Set<Dep>> enforced(LogicalPlan node, String stamp) {
        String source;
        if (stamp.startsWith(prefix)) {
            source = stamp.substring(prefix.length());
            sources.add(source);
        } else {
            stale.add(stamp);
            int bar = stamp.indexOf('|');
            source = bar >= 0 ? stamp.substring(bar + 1) : stamp;
        }
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        scala.collection.Iterator<Attribute> it = node.output().iterator();
        while (it.hasNext()) {
            Attribute a = it.next();
            out.put(a.exprId(), Set.of(new Dep(source, a.name())));
        }
        return out;
    }

    private Map<ExprId, Set<Dep>> withCte(WithCTE node, Scope outer) {
        scala.collection.Iterator<CTERelationDef> defs = node.cteDefs().iterator();
        while (defs.hasNext()) {
            CTERelationDef def = defs.next();
            Map<ExprId, Set<Dep>> m = visit(def, outer);
            List<Set<Dep>> columns = new ArrayList<>();
            scala.collection.Iterator<Attribute> it = def.output().iterator();
            while (it.hasNext()) columns.add(orAll(m.get(it.next().exprId()), m));
            ctes.put(def.id(), columns);
        }
        Map<ExprId, Set<Dep>> m = visit(node.plan(), outer);
        return aligned(node.output(), node.plan().output(), m);
    }

    private Map<ExprId, Set<Dep>> cteRef(CTERelationRef ref) {
        List<Set<Dep>> columns = ctes.get(ref.cteId());
        if (columns == null || columns.size() != ref.output().size()) {
            throw new IllegalStateException("lineage: a CTE reference whose definition is not in the plan");
        }
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        for (int i = 0; i < columns.size(); i++) out.put(ref.output().apply(i).exprId(), columns.get(i));
        return out;
    }

    /** WITH RECURSIVE: each step may move values between columns, so every column depends on all of them. */
    private Map<ExprId, Set<Dep>> unionLoop(UnionLoop node, Scope outer) {
        Set<Dep> known = all(visit(node.anchor(), outer).values());
        while (true) {
            loops.put(node.id(), known);
            subqueries.clear();  // they may see the loop's reference: visit them again with what is known now
            Set<Dep> next = new LinkedHashSet<>(known);
            next.addAll(all(visit(node.recursion(), outer).values()));
            if (next.equals(known)) break;
            known = next;
        }
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        scala.collection.Iterator<Attribute> it = node.output().iterator();
        while (it.hasNext()) out.put(it.next().exprId(), known);
        return out;
    }

    private Map<ExprId, Set<Dep>> loopRef(UnionLoopRef ref) {
        Set<Dep> known = loops.get(ref.loopId());
        if (known == null) throw new IllegalStateException("lineage: a recursive reference outside its loop");
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        scala.collection.Iterator<Attribute> it = ref.output().iterator();
        while (it.hasNext()) out.put(it.next().exprId(), known);
        return out;
    }

    /** The outputs of an expression subquery's plan, visited once (it sees the enclosing node's scope). */
    private Map<ExprId, Set<Dep>> subquery(LogicalPlan plan, Scope scope) {
        Map<ExprId, Set<Dep>> found = subqueries.get(plan);
        if (found == null) {
            found = aligned(plan.output(), plan.output(), visit(plan, scope));
            subqueries.put(plan, found);
        }
        return found;
    }

    /** Each named expression's attribute from what its expression refers to. */
    private Map<ExprId, Set<Dep>> named(scala.collection.Seq<? extends NamedExpression> list, Scope scope) {
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        scala.collection.Iterator<? extends NamedExpression> it = list.iterator();
        while (it.hasNext()) {
            NamedExpression ne = it.next();
            out.put(ne.exprId(), deps((Expression) ne, scope));
        }
        return out;
    }

    /** {@code node}'s output: the attributes it makes from {@code made}, the others passed through from its children. */
    private Map<ExprId, Set<Dep>> keep(LogicalPlan node, Scope scope, Map<ExprId, Set<Dep>> made) {
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        scala.collection.Iterator<Attribute> it = node.output().iterator();
        while (it.hasNext()) {
            ExprId id = it.next().exprId();
            Set<Dep> d = made.get(id);
            if (d == null) d = scope.attrs.get(id);
            if (d == null) d = all(scope.attrs.values());  // not a child's: conservatively, all of them
            out.put(id, d);
        }
        return out;
    }

    private Map<ExprId, Set<Dep>> expand(Expand node, Scope scope) {
        List<Set<Dep>> columns = new ArrayList<>();
        for (int i = 0; i < node.output().size(); i++) columns.add(new LinkedHashSet<>());
        scala.collection.Iterator<scala.collection.immutable.Seq<Expression>> rows = node.projections().iterator();
        while (rows.hasNext()) {
            scala.collection.immutable.Seq<Expression> row = rows.next();
            for (int i = 0; i < row.size() && i < columns.size(); i++) columns.get(i).addAll(deps(row.apply(i), scope));
        }
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        for (int i = 0; i < columns.size(); i++) out.put(node.output().apply(i).exprId(), columns.get(i));
        return out;
    }

    /** Output i from output i of each of {@code kids} (the node's first children). */
    private static Map<ExprId, Set<Dep>> positional(LogicalPlan node, List<Map<ExprId, Set<Dep>>> kids) {
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        scala.collection.immutable.Seq<Attribute> output = node.output();
        for (int i = 0; i < output.size(); i++) {
            Set<Dep> d = new LinkedHashSet<>();
            for (int k = 0; k < kids.size(); k++) {
                scala.collection.immutable.Seq<Attribute> childOut = node.children().apply(k).output();
                Map<ExprId, Set<Dep>> m = kids.get(k);
                d.addAll(i < childOut.size() ? orAll(m.get(childOut.apply(i).exprId()), m) : all(m.values()));
            }
            out.put(output.apply(i).exprId(), d);
        }
        return out;
    }

    /** A node this walk does not model: everything it could have computed a column from. */
    private Map<ExprId, Set<Dep>> unknown(LogicalPlan node, Scope scope, List<Map<ExprId, Set<Dep>>> kids) {
        Set<Dep> everything = all(scope.attrs.values());
        scala.collection.Iterator<LogicalPlan> subs = node.subqueries().iterator();
        while (subs.hasNext()) everything.addAll(all(subquery(subs.next(), scope).values()));
        scala.collection.Iterator<QueryPlan<?>> inner = node.innerChildren().iterator();
        while (inner.hasNext()) {
            QueryPlan<?> p = inner.next();
            if (p instanceof LogicalPlan) everything.addAll(all(visit((LogicalPlan) p, scope.outer).values()));
        }
        Set<Dep> own = new LinkedHashSet<>();
        scala.collection.Iterator<Expression> exprs = node.expressions().iterator();
        while (exprs.hasNext()) own.addAll(deps(exprs.next(), scope));
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        boolean unary = kids.size() == 1;
        scala.collection.Iterator<Attribute> it = node.output().iterator();
        while (it.hasNext()) {
            ExprId id = it.next().exprId();
            Set<Dep> kept = unary ? scope.attrs.get(id) : null;
            if (kept == null) {
                out.put(id, everything);
            } else {
                Set<Dep> d = new LinkedHashSet<>(kept);
                d.addAll(own);
                out.put(id, d);
            }
        }
        return out;
    }

    /** What an expression's value is computed from. */
    private Set<Dep> deps(Expression e, Scope scope) {
        Set<Dep> acc = new LinkedHashSet<>();
        collect(e, scope, acc);
        return acc;
    }

    private void collect(Expression e, Scope scope, Set<Dep> acc) {
        if (e instanceof Attribute) {
            acc.addAll(lookup(((Attribute) e).exprId(), scope));
            return;
        }
        if (e instanceof OuterReference) {
            acc.addAll(lookup(((OuterReference) e).e().exprId(), scope));
            return;
        }
        if (e instanceof SubqueryExpression) {
            // Its value comes from the subquery's outputs; its correlation conditions only select rows.
            acc.addAll(all(subquery(((SubqueryExpression) e).plan(), scope).values()));
            return;
        }
        scala.collection.Iterator<Expression> kids = e.children().iterator();
        while (kids.hasNext()) collect(kids.next(), scope, acc);
    }

    /** An attribute's dependencies from the nearest scope that has it; if none does, all of every scope's. */
    private static Set<Dep> lookup(ExprId id, Scope scope) {
        for (Scope s = scope; s != null; s = s.outer) {
            Set<Dep> d = s.attrs.get(id);
            if (d != null) return d;
        }
        Set<Dep> everything = new LinkedHashSet<>();
        for (Scope s = scope; s != null; s = s.outer) everything.addAll(all(s.attrs.values()));
        return everything;
    }

    /** {@code output}'s attributes from {@code from}'s positions in {@code m}. */
    private static Map<ExprId, Set<Dep>> aligned(
            scala.collection.Seq<Attribute> output, scala.collection.Seq<Attribute> from, Map<ExprId, Set<Dep>> m) {
        Map<ExprId, Set<Dep>> out = new HashMap<>();
        for (int i = 0; i < output.size(); i++) {
            Set<Dep> d = i < from.size() ? m.get(from.apply(i).exprId()) : null;
            out.put(output.apply(i).exprId(), orAll(d, m));
        }
        return out;
    }

    private static Set<Dep> orAll(Set<Dep> d, Map<ExprId, Set<Dep>> m) {
        return d != null ? d : all(m.values());
    }

    private static Set<Dep> all(java.util.Collection<Set<Dep>> sets) {
        Set<Dep> out = new LinkedHashSet<>();
        for (Set<Dep> s : sets) out.addAll(s);
        return out;
    }
}
