// An aggregate query over a differentially private source, as the analyzer resolved it: which
// grouping keys and which COUNT / SUM / AVG it asks for, over which rows, and what it does with the
// answer (ORDER BY, LIMIT, a projection). Anything else reading the source is refused: the answer
// must be a function of per-group statistics of the source's rows, each row read once.
// Python (immuta_spark/spark/dp.py) computes the exact statistics from exact() and adds the noise.
package io.immutaspark;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.EliminateSubqueryAliases$;
import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.Cast;
import org.apache.spark.sql.catalyst.expressions.ExprId;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression$;
import org.apache.spark.sql.catalyst.expressions.SortOrder;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.expressions.aggregate.AggregateExpression;
import org.apache.spark.sql.catalyst.expressions.aggregate.AggregateFunction;
import org.apache.spark.sql.catalyst.expressions.aggregate.Average;
import org.apache.spark.sql.catalyst.expressions.aggregate.Complete$;
import org.apache.spark.sql.catalyst.expressions.aggregate.Count;
import org.apache.spark.sql.catalyst.expressions.aggregate.Sum;
import org.apache.spark.sql.catalyst.optimizer.InlineCTE;
import org.apache.spark.sql.catalyst.plans.logical.Aggregate;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.GlobalLimit;
import org.apache.spark.sql.catalyst.plans.logical.LocalLimit;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.plans.logical.Sort;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.types.IntegralType;

public final class DpQuery {
    static final String ALLOWED = "under differential privacy only COUNT(*), COUNT(column), SUM(column) and "
        + "AVG(column) over the rows of one differentially private source are answered, grouped by its columns "
        + "(GROUP BY), filtered (WHERE) and ordered or limited afterwards (ORDER BY, LIMIT)";

    private final SparkSession session;
    private final Aggregate aggregate;
    private final String source;
    private final Map<String, Object> spec = new LinkedHashMap<>();
    private final List<Expression> values = new ArrayList<>();

    private DpQuery(SparkSession session, Aggregate aggregate, String source) {
        this.session = session;
        this.aggregate = aggregate;
        this.source = source;
    }

    /** The query {@code analyzed} asks (a plan of a governed session in DP mode), or an error saying what is allowed. */
    public static DpQuery of(SparkSession session, LogicalPlan analyzed) {
        // WITH: each reference to a CTE becomes its body, so a CTE read twice is a self-join (refused).
        LogicalPlan plan = new InlineCTE(true, false, false).apply(analyzed);
        LogicalPlan found = plan;
        while (!(found instanceof Aggregate)) {
            if (found.getTagValue(Governor.DP).isDefined()) throw refused("it returns the source's rows, not an aggregate of them");
            boolean peel = found instanceof GlobalLimit || found instanceof LocalLimit || found instanceof Project
                || found instanceof SubqueryAlias || (found instanceof Sort && ((Sort) found).global());
            if (!peel) {
                String what = found instanceof Filter ? "HAVING (a filter of the answer)" : found.nodeName();
                throw refused("its result is computed further (" + what + ") than ORDER BY, LIMIT or a selection of its columns");
            }
            if (found.children().size() != 1) throw refused("it combines several inputs (" + found.nodeName() + ")");
            found = found.children().head();
        }
        List<Map<String, Object>> after = new ArrayList<>();
        LogicalPlan node = plan;
        while (!(node instanceof Aggregate)) {
            Map<String, Object> op = new LinkedHashMap<>();
            if (node instanceof GlobalLimit) {
                op.put("op", "limit");
                op.put("rows", intLiteral(((GlobalLimit) node).limitExpr()));
                node = ((GlobalLimit) node).child();
                if (node instanceof LocalLimit) node = ((LocalLimit) node).child();
            } else if (node instanceof Sort && ((Sort) node).global()) {
                Sort s = (Sort) node;
                List<Map<String, Object>> keys = new ArrayList<>();
                scala.collection.Iterator<SortOrder> it = s.order().iterator();
                while (it.hasNext()) {
                    SortOrder o = it.next();
                    Map<String, Object> k = new LinkedHashMap<>();
                    k.put("output", ordinal(s.child(), o.child()));
                    k.put("ascending", o.isAscending());
                    k.put("nullsFirst", o.nullOrdering() == org.apache.spark.sql.catalyst.expressions.NullsFirst$.MODULE$);
                    keys.add(k);
                }
                op.put("op", "sort");
                op.put("keys", keys);
                node = s.child();
            } else if (node instanceof Project) {
                Project p = (Project) node;
                List<Integer> cols = new ArrayList<>();
                scala.collection.Iterator<NamedExpression> it = p.projectList().iterator();
                while (it.hasNext()) cols.add(ordinal(p.child(), (Expression) it.next()));
                op.put("op", "project");
                op.put("outputs", cols);
                node = p.child();
            } else if (node instanceof SubqueryAlias) {
                node = ((SubqueryAlias) node).child();
                continue;
            } else {
                node = node.children().head();  // a LocalLimit under its GlobalLimit's place (peeled above)
                continue;
            }
            after.add(0, op);  // applied bottom-up
        }
        Aggregate agg = (Aggregate) node;
        Map<ExprId, String> columns = new HashMap<>();
        String source = rows(agg.child(), columns);
        DpQuery q = new DpQuery(session, agg, source);
        q.spec.put("source", source);
        q.describe(columns);
        q.spec.put("after", after);
        q.spec.put("rows", EliminateSubqueryAliases$.MODULE$.apply(agg.child()).canonicalized().treeString());
        q.spec.put("schema", agg.schema().json());
        return q;
    }

    /** The query as JSON: source, keys, outputs, values, after (ordering, limit, projection), rows (canonical), schema. */
    public String spec() {
        try {
            return new ObjectMapper().writeValueAsString(spec);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The rows the statistics are computed from: one column per grouping key (k0...), then per value column (v0...). */
    public org.apache.spark.sql.classic.Dataset<org.apache.spark.sql.Row> exact() {
        List<NamedExpression> list = new ArrayList<>();
        scala.collection.immutable.Seq<String> none = EnforceRule.seq(List.<String>of());
        scala.collection.Iterator<Expression> keys = aggregate.groupingExpressions().iterator();
        int i = 0;
        while (keys.hasNext()) {
            list.add(new Alias(keys.next(), "k" + i++, NamedExpression$.MODULE$.newExprId(), none, scala.Option.empty(), none));
        }
        for (int j = 0; j < values.size(); j++) {
            list.add(new Alias(values.get(j), "v" + j, NamedExpression$.MODULE$.newExprId(), none, scala.Option.empty(), none));
        }
        return org.apache.spark.sql.classic.Dataset.ofRows(
            (org.apache.spark.sql.classic.SparkSession) session, new Project(EnforceRule.seq(list), aggregate.child()));
    }

    private void describe(Map<ExprId, String> columns) {
        List<Map<String, Object>> keys = new ArrayList<>();
        List<Expression> grouping = new ArrayList<>();
        scala.collection.Iterator<Expression> git = aggregate.groupingExpressions().iterator();
        while (git.hasNext()) {
            Expression e = git.next();
            if (!e.deterministic() || hasSubquery(e)) throw refused("a GROUP BY key is not a plain function of the row");
            Map<String, Object> k = new LinkedHashMap<>();
            k.put("sql", e.canonicalized().sql());
            k.put("column", e instanceof AttributeReference ? columns.get(((AttributeReference) e).exprId()) : null);
            keys.add(k);
            grouping.add(e);
        }
        List<Map<String, Object>> outputs = new ArrayList<>();
        List<String> valueColumns = new ArrayList<>();
        scala.collection.Iterator<NamedExpression> it = aggregate.aggregateExpressions().iterator();
        while (it.hasNext()) {
            NamedExpression ne = it.next();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("name", ne.name());
            Expression body = ne instanceof Alias ? ((Alias) ne).child() : (Expression) ne;
            int key = indexOf(grouping, body);
            if (key >= 0) {
                out.put("kind", "key");
                out.put("key", key);
            } else if (body instanceof AggregateExpression) {
                AggregateExpression ae = (AggregateExpression) body;
                if (ae.isDistinct() || ae.filter().isDefined() || ae.mode() != Complete$.MODULE$) {
                    throw refused("it uses DISTINCT or FILTER inside an aggregate");
                }
                AggregateFunction fn = ae.aggregateFunction();
                String kind = fn instanceof Count ? "count" : fn instanceof Sum ? "sum" : fn instanceof Average ? "avg" : null;
                if (kind == null || fn.children().size() != 1) throw refused("it computes " + fn.prettyName().toUpperCase());
                Expression arg = fn.children().head();
                if (kind.equals("count") && arg instanceof Literal && ((Literal) arg).value() != null) {
                    out.put("kind", "rows");
                } else {
                    String column = columnOf(arg, columns);
                    if (column == null) throw refused(fn.prettyName().toUpperCase() + " takes a source column as it is, not an expression");
                    out.put("kind", kind);
                    out.put("column", column);
                    int v = valueColumns.indexOf(column);
                    if (v < 0) {
                        valueColumns.add(column);
                        values.add(stripCast(arg));
                        v = valueColumns.size() - 1;
                    }
                    out.put("value", v);
                    out.put("integral", body.dataType() instanceof IntegralType);
                }
            } else {
                throw refused("the output '" + ne.name() + "' is neither a GROUP BY key nor one COUNT, SUM or AVG");
            }
            outputs.add(out);
        }
        spec.put("keys", keys);
        spec.put("outputs", outputs);
        spec.put("values", valueColumns);
    }

    /**
     * The DP source whose rows {@code node} reads (Filters and Projects over its enforced subtree only),
     * filling {@code columns} with the attributes that are the source's columns as they are.
     */
    private static String rows(LogicalPlan node, Map<ExprId, String> columns) {
        scala.Option<String> dp = node.getTagValue(Governor.DP);
        if (dp.isDefined()) {
            scala.collection.Iterator<Attribute> it = node.output().iterator();
            while (it.hasNext()) {
                Attribute a = it.next();
                columns.put(a.exprId(), a.name());
            }
            return dp.get();
        }
        if (node instanceof Filter) {
            Expression c = ((Filter) node).condition();
            if (hasSubquery(c)) throw refused("its WHERE clause has a subquery");
            return rows(((Filter) node).child(), columns);
        }
        if (node instanceof SubqueryAlias) return rows(((SubqueryAlias) node).child(), columns);
        if (node instanceof Project) {
            Project p = (Project) node;
            String source = rows(p.child(), columns);
            scala.collection.Iterator<NamedExpression> it = p.projectList().iterator();
            while (it.hasNext()) {
                NamedExpression ne = it.next();
                if (hasSubquery((Expression) ne)) throw refused("it selects a subquery");
                if (ne instanceof Alias && ((Alias) ne).child() instanceof AttributeReference) {
                    String c = columns.get(((AttributeReference) ((Alias) ne).child()).exprId());
                    if (c != null) columns.put(ne.exprId(), c);
                }
            }
            return source;
        }
        throw refused("it reads the source through " + node.nodeName() + " (a join, union, window, sample or nested aggregate)");
    }

    private static String columnOf(Expression e, Map<ExprId, String> columns) {
        Expression x = stripCast(e);
        return x instanceof AttributeReference ? columns.get(((AttributeReference) x).exprId()) : null;
    }

    private static Expression stripCast(Expression e) {
        while (e instanceof Cast) e = ((Cast) e).child();
        return e;
    }

    private static int indexOf(List<Expression> grouping, Expression e) {
        for (int i = 0; i < grouping.size(); i++) if (grouping.get(i).semanticEquals(e)) return i;
        return -1;
    }

    /** The position of {@code e} (an attribute) in {@code child}'s output. */
    private static int ordinal(LogicalPlan child, Expression e) {
        if (e instanceof AttributeReference) {
            scala.collection.Iterator<Attribute> it = child.output().iterator();
            for (int i = 0; it.hasNext(); i++) {
                if (it.next().exprId().equals(((AttributeReference) e).exprId())) return i;
            }
        }
        throw refused("ORDER BY or the selected columns compute something from the answer (" + e.sql() + ")");
    }

    private static int intLiteral(Expression e) {
        Object v = e.foldable() ? e.eval(null) : null;
        if (!(v instanceof Integer)) throw refused("its LIMIT is not a constant");
        return (Integer) v;
    }

    private static boolean hasSubquery(Expression e) {
        if (e instanceof SubqueryExpression) return true;
        scala.collection.Iterator<Expression> kids = e.children().iterator();
        while (kids.hasNext()) if (hasSubquery(kids.next())) return true;
        return false;
    }

    private static RuntimeException refused(String why) {
        return Errors.dp(ALLOWED + "; this query is not answered because " + why);
    }
}
