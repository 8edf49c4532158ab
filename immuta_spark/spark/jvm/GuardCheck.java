// The second line, run by Spark's CheckAnalysis on every analyzed plan of a governed session, before
// anything runs (commands included): a governed relation outside an enforced subtree of the current
// rules, a subtree enforced under other rules, or a row-level write to a governed table by a
// non-owner fails the query.
package io.immutaspark;

import java.util.List;

import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.analysis.GlobalTempView$;
import org.apache.spark.sql.catalyst.analysis.PersistedView$;
import org.apache.spark.sql.catalyst.analysis.ResolvedIdentifier;
import org.apache.spark.sql.catalyst.analysis.ResolvedNamespace;
import org.apache.spark.sql.catalyst.analysis.ResolvedTable;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.plans.logical.CacheTable;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.DeleteFromTable;
import org.apache.spark.sql.catalyst.plans.logical.DropNamespace;
import org.apache.spark.sql.catalyst.plans.logical.InsertIntoStatement;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.MergeIntoTable;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.catalyst.plans.logical.UncacheTable;
import org.apache.spark.sql.catalyst.plans.logical.UpdateTable;
import org.apache.spark.sql.catalyst.plans.logical.V2WriteCommand;
import org.apache.spark.sql.execution.command.AnalyzeTablesCommand;
import org.apache.spark.sql.execution.command.DropDatabaseCommand;
import org.apache.spark.sql.execution.command.CreateViewCommand;

final class GuardCheck {
    private final Governor g;

    GuardCheck(Governor g) {
        this.g = g;
    }

    void check(LogicalPlan node) {
        scala.Option<String> stamp = node.getTagValue(Governor.ENFORCED);
        if (stamp.isDefined()) {
            scala.Option<String> dp = node.getTagValue(Governor.DP);
            if (dp.isDefined() && !g.inPrivate()) throw Errors.dp(dp.get(), DpQuery.ALLOWED);
            if (stamp.get().startsWith(g.prefix())) return;
            throw Errors.unenforced("this plan holds data enforced for another user, project or policy version; "
                + "read the tables again through your own governed session");
        }
        if (Relations.isRelation(node)) {
            String source = EnforceRule.sourceOf(node, g);
            if (source != null) {
                throw Errors.unenforced(source, "a governed table is reached without enforcement; query the table itself");
            }
            return;
        }
        if (node instanceof CreateViewCommand && ((CreateViewCommand) node).viewType() == GlobalTempView$.MODULE$) {
            throw Errors.unenforced("a global temporary view is shared by every session of the Spark application, "
                + "and a governed session keeps what its user makes to itself; make a temporary view instead");
        }
        SideDoors.node(g, node);
        if (node instanceof Command) {
            SideDoors.command(g, node);  // first: creating under a hidden table's name fails as under a free one
            command(node);
        }
        if (EnforceRule.isRowLevelWrite(node)) {
            LogicalPlan target = node instanceof DeleteFromTable ? ((DeleteFromTable) node).table()
                : node instanceof UpdateTable ? ((UpdateTable) node).table() : ((MergeIntoTable) node).targetTable();
            owner(target, node instanceof DeleteFromTable ? "DELETE" : node instanceof UpdateTable ? "UPDATE" : "MERGE");
            if (node instanceof MergeIntoTable) check(((MergeIntoTable) node).sourceTable());
        } else {
            scala.collection.Iterator<LogicalPlan> kids = node.children().iterator();
            while (kids.hasNext()) check(kids.next());
        }
        scala.collection.Iterator<Expression> exprs = node.expressions().iterator();
        while (exprs.hasNext()) subqueries(exprs.next());
    }

    private void subqueries(Expression e) {
        if (e instanceof SubqueryExpression) check(((SubqueryExpression) e).plan());
        scala.collection.Iterator<Expression> kids = e.children().iterator();
        while (kids.hasNext()) subqueries(kids.next());
    }

    /**
     * A command naming a governed table (an INSERT's target, DROP, ALTER, TRUNCATE, ANALYZE, ...,
     * however the statement reached Spark: EXECUTE IMMEDIATE included) is for its owners only; a
     * hidden table is missing. A database dropped with CASCADE may hold no governed table the
     * user does not own.
     */
    private void command(LogicalPlan node) {
        String verb = node.nodeName();
        if (node instanceof InsertIntoStatement) owner(((InsertIntoStatement) node).table(), "INSERT");
        if (node instanceof V2WriteCommand) owner((LogicalPlan) ((V2WriteCommand) node).table(), verb);
        boolean tempView = node instanceof CreateViewCommand
            && ((CreateViewCommand) node).viewType() != PersistedView$.MODULE$;
        if (node instanceof CacheTable) {
            scala.collection.immutable.Seq<String> ident = ((CacheTable) node).multipartIdentifier();
            if (ident.size() >= 2) named(ident.apply(ident.size() - 2), ident.last(), "CACHE");
        }
        if (node instanceof UncacheTable && namesTable(((UncacheTable) node).table())) {
            owner(((UncacheTable) node).table(), "UNCACHE");
        }
        scala.collection.Iterator<Object> fields = node.productIterator();
        while (fields.hasNext()) {
            Object f = fields.next();
            if (f instanceof scala.Option && ((scala.Option<?>) f).isDefined()) f = ((scala.Option<?>) f).get();
            if (f instanceof TableIdentifier && !tempView) {
                TableIdentifier t = (TableIdentifier) f;
                if (t.database().isDefined()) named(t.database().get(), t.table(), verb);
            } else if (f instanceof CatalogTable) {
                TableIdentifier t = ((CatalogTable) f).identifier();
                if (t.database().isDefined()) named(t.database().get(), t.table(), verb);
            } else if (f instanceof ResolvedIdentifier) {
                String[] ns = ((ResolvedIdentifier) f).identifier().namespace();
                if (ns.length > 0) named(ns[ns.length - 1], ((ResolvedIdentifier) f).identifier().name(), verb);
            } else if (f instanceof ResolvedTable) {
                String[] ns = ((ResolvedTable) f).identifier().namespace();
                if (ns.length > 0) named(ns[ns.length - 1], ((ResolvedTable) f).identifier().name(), verb);
            }
        }
        String database = null;
        boolean cascade = false;
        if (node instanceof DropDatabaseCommand) {
            database = ((DropDatabaseCommand) node).databaseName();
            cascade = ((DropDatabaseCommand) node).cascade();
        } else if (node instanceof DropNamespace && ((DropNamespace) node).namespace() instanceof ResolvedNamespace) {
            scala.collection.immutable.Seq<String> ns = ((ResolvedNamespace) ((DropNamespace) node).namespace()).namespace();
            database = ns.isEmpty() ? null : ns.last();
            cascade = ((DropNamespace) node).cascade();
        }
        if (node instanceof AnalyzeTablesCommand) {
            scala.Option<String> db = ((AnalyzeTablesCommand) node).databaseName();
            String name = db.isDefined() ? db.get() : g.currentDatabase();
            for (String source : g.sourcesIn(name)) {
                if (!g.decide(source).owner) {
                    throw Errors.denied(source, "ANALYZE TABLES would rewrite governed tables' statistics, which only "
                        + "their owners may do; analyze your own tables one by one");
                }
            }
        }
        if (database != null) {
            // Hidden tables first: "not empty" or "would drop governed tables" would tell they are there.
            SideDoors.hiddenIn(g, database, "drop");
            for (String source : cascade ? g.sourcesIn(database) : List.<String>of()) {
                if (!g.decide(source).owner) {
                    throw Errors.denied(source, "DROP DATABASE ... CASCADE would drop governed tables, which only their owners "
                        + "may drop; drop your own tables one by one");
                }
            }
        }
    }

    /** Whether a command's resolved target is a table itself (enforced or not), not a view over one. */
    private static boolean namesTable(LogicalPlan target) {
        LogicalPlan p = target;
        while (p instanceof SubqueryAlias) p = ((SubqueryAlias) p).child();
        return Relations.isRelation(p) || p.getTagValue(Governor.ENFORCED).isDefined();
    }

    private void named(String db, String table, String verb) {
        String source = g.source(db, table);
        if (source == null) return;
        Governor.Decision d = g.decide(source);
        if (d.kind == Governor.HIDDEN) throw Errors.notFound(List.of(db, table));
        if (!d.owner) throw Errors.denied(source, verb + " on a governed table is reserved to the source's owners; query it instead");
    }

    /** A write target: only a governed table's owners may write it; a hidden one is missing. */
    private void owner(LogicalPlan target, String verb) {
        LogicalPlan leaf = EnforceRule.relationOf(target);
        if (leaf == null) return;
        String source = EnforceRule.sourceOf(leaf, g);
        if (source == null) return;
        Governor.Decision d = g.decide(source);
        if (d.kind == Governor.HIDDEN) throw Errors.notFound(leaf, source);
        if (!d.owner) {
            throw Errors.denied(source, verb + " on a governed table is reserved to the source's owners; query it instead");
        }
    }
}
