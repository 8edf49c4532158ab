// The check rule's second half: what a statement may do besides reading governed tables, however it
// reached Spark (EXECUTE IMMEDIATE and SQL function bodies included). No reflection, scripts, jars or
// JVM-class functions; settings only from the allowlist; no file metadata or statistics of data the
// user does not own; files only beneath the data roots; and no statement that would tell a hidden
// table's name apart from a free one.
package io.immutaspark;

import java.util.Set;

import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.analysis.PersistedView$;
import org.apache.spark.sql.catalyst.analysis.ResolvedIdentifier;
import org.apache.spark.sql.catalyst.catalog.CatalogStorageFormat;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.expressions.CallMethodViaReflection;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.InputFileBlockLength;
import org.apache.spark.sql.catalyst.expressions.InputFileBlockStart;
import org.apache.spark.sql.catalyst.expressions.InputFileName;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.ScriptTransformation;
import org.apache.spark.sql.execution.CommandExecutionMode$;
import org.apache.spark.sql.execution.CostMode$;
import org.apache.spark.sql.execution.command.AlterTableAddPartitionCommand;
import org.apache.spark.sql.execution.command.AlterTableRenameCommand;
import org.apache.spark.sql.execution.command.AlterTableSetLocationCommand;
import org.apache.spark.sql.execution.command.CreateViewCommand;
import org.apache.spark.sql.execution.command.ExplainCommand;
import org.apache.spark.sql.execution.command.LoadDataCommand;
import org.apache.spark.sql.execution.command.ResetCommand;
import org.apache.spark.sql.execution.command.SetCommand;
import org.apache.spark.sql.execution.datasources.InsertIntoHadoopFsRelationCommand;
import org.apache.spark.sql.execution.datasources.SaveIntoDataSourceCommand;

final class SideDoors {
    private SideDoors() {}

    /** Statements that load code into the JVM or hand files to the executors. */
    private static final Set<String> CODE = Set.of(
        "AddJarsCommand", "AddFilesCommand", "AddArchivesCommand", "CreateFunctionCommand", "CreateFunction");
    /** Statements whose rows the governed session filters itself (hidden tables left out). */
    private static final Set<String> ANSWERED = Set.of(
        "ShowTables", "ShowTablesCommand", "ShowTablesExtended", "ShowViews", "ShowViewsCommand");
    /** Statements that create a persistent table or view under a name. */
    private static final Set<String> CREATES = Set.of(
        "CreateDataSourceTableCommand", "CreateDataSourceTableAsSelectCommand", "CreateTableCommand",
        "CreateHiveTableAsSelectCommand", "OptimizedCreateHiveTableAsSelectCommand", "CreateTableLikeCommand",
        "CreateTable", "CreateTableAsSelect", "ReplaceTable", "ReplaceTableAsSelect", "CreateView", "CreateViewCommand");

    /** A plan node that is not a command: scripts and reflection in its expressions, file names over others' data. */
    static void node(Governor g, LogicalPlan node) {
        if (node instanceof ScriptTransformation) {
            throw Errors.unenforced("TRANSFORM ... USING runs scripts on raw rows; it is not allowed in a governed session");
        }
        scala.collection.Iterator<Expression> exprs = node.expressions().iterator();
        while (exprs.hasNext()) {
            Expression e = exprs.next();
            if (e.exists((Expression x) -> x instanceof CallMethodViaReflection)) {
                throw Errors.unenforced("reflect(), java_method() and try_reflect() call JVM methods the governed session "
                    + "cannot check; not allowed");
            }
            if (e.exists((Expression x) -> x instanceof InputFileName || x instanceof InputFileBlockStart
                    || x instanceof InputFileBlockLength) && readsUnowned(g, node)) {
                throw Errors.unenforced("input_file_name() and input_file_block_*() show the files (and partition values) "
                    + "of a governed table, which may hold rows you cannot see; they are not available over governed data");
            }
        }
    }

    /** Whether the plan holds an enforced subtree of a source the user does not own. */
    static boolean readsUnowned(Governor g, LogicalPlan plan) {
        scala.Option<String> stamp = plan.getTagValue(Governor.ENFORCED);
        if (stamp.isDefined()) {
            String s = stamp.get();
            int bar = s.indexOf('|');
            return !s.startsWith(g.prefix()) || !g.decide(s.substring(bar + 1)).owner;
        }
        scala.collection.Iterator<LogicalPlan> kids = plan.children().iterator();
        while (kids.hasNext()) if (readsUnowned(g, kids.next())) return true;
        scala.collection.Iterator<LogicalPlan> subs = plan.subqueries().iterator();
        while (subs.hasNext()) if (readsUnowned(g, subs.next())) return true;
        return false;
    }

    static void command(Governor g, LogicalPlan node) {
        String kind = node.getClass().getSimpleName();
        if (CODE.contains(kind)) {
            throw Errors.unenforced("ADD JAR / FILE / ARCHIVE and functions made from JVM classes load code or files the "
                + "governed session cannot check; not allowed (a SQL function, CREATE FUNCTION ... RETURN, is)");
        }
        if (ANSWERED.contains(kind) && !g.answered()) {
            throw Errors.unenforced("SHOW TABLES and SHOW VIEWS are answered by the governed session itself (without "
                + "tables you cannot see); run them as statements of their own, not inside EXECUTE IMMEDIATE");
        }
        if (node instanceof SetCommand) {
            scala.Option<scala.Tuple2<String, scala.Option<String>>> kv = ((SetCommand) node).kv();
            if (kv.isDefined() && kv.get()._2().isDefined() && !g.settingAllowed(kv.get()._1())) {
                throw Errors.unenforced("setting '" + kv.get()._1() + "' may not be changed in a governed session (it could "
                    + "switch enforcement off); see ALLOWED_SETTINGS for those that may");
            }
        }
        if (node instanceof ResetCommand) {
            scala.Option<String> key = ((ResetCommand) node).config();
            if (!key.isDefined() || !g.settingAllowed(key.get())) {
                throw Errors.unenforced("RESET may restore only the settings a governed session lets users change, one by "
                    + "one; see ALLOWED_SETTINGS");
            }
        }
        if (node instanceof ExplainCommand && ((ExplainCommand) node).mode() == CostMode$.MODULE$) {
            LogicalPlan inner = g.session().sessionState()
                .executePlan(((ExplainCommand) node).logicalPlan(), CommandExecutionMode$.MODULE$.SKIP()).analyzed();
            if (readsUnowned(g, inner)) {
                throw Errors.unenforced("EXPLAIN COST prints the statistics of the governed tables themselves (their raw row "
                    + "counts and sizes); use EXPLAIN, EXPLAIN EXTENDED or EXPLAIN FORMATTED");
            }
        }
        paths(g, node);
        String[] created = created(g, node);
        if (created != null) hiddenIn(g, created[0], "create tables or views in");
    }

    /** The files a command writes, moves or points a table at. */
    private static void paths(Governor g, LogicalPlan node) {
        if (node instanceof InsertIntoHadoopFsRelationCommand) {
            Storage.checkWrite(g, ((InsertIntoHadoopFsRelationCommand) node).outputPath().toString(), "INSERT");
        }
        if (node instanceof SaveIntoDataSourceCommand) {
            scala.collection.immutable.Map<String, String> options = ((SaveIntoDataSourceCommand) node).options();
            scala.collection.Iterator<scala.Tuple2<String, String>> it = options.iterator();
            while (it.hasNext()) {
                scala.Tuple2<String, String> kv = it.next();
                if (kv._1().equalsIgnoreCase("path")) Storage.checkWrite(g, kv._2(), "a write");
                if (kv._1().equalsIgnoreCase("url") && kv._2().trim().toLowerCase(java.util.Locale.ROOT).startsWith("jdbc:")) {
                    Storage.checkJdbc(g, kv._2());
                }
            }
        }
        if (node instanceof LoadDataCommand) Storage.checkWrite(g, ((LoadDataCommand) node).path(), "LOAD DATA");
        if (node instanceof AlterTableSetLocationCommand) {
            Storage.checkWrite(g, ((AlterTableSetLocationCommand) node).location(), "SET LOCATION");
        }
        if (node instanceof AlterTableAddPartitionCommand) {
            scala.collection.Iterator<? extends scala.Tuple2<?, scala.Option<String>>> it =
                ((AlterTableAddPartitionCommand) node).partitionSpecsAndLocs().iterator();
            while (it.hasNext()) {
                scala.Option<String> loc = it.next()._2();
                if (loc.isDefined()) Storage.checkWrite(g, loc.get(), "ADD PARTITION ... LOCATION");
            }
        }
        scala.collection.Iterator<Object> fields = node.productIterator();
        while (fields.hasNext()) {
            Object f = fields.next();
            CatalogStorageFormat storage = f instanceof CatalogStorageFormat ? (CatalogStorageFormat) f
                : f instanceof CatalogTable ? ((CatalogTable) f).storage() : null;
            if (storage != null && storage.locationUri().isDefined()) {
                Storage.checkWrite(g, storage.locationUri().get().toString(), "a table or directory at a location");
            }
        }
    }

    /** {db, name} a command creates a persistent table or view under (a rename's new name), or null. */
    private static String[] created(Governor g, LogicalPlan node) {
        if (node instanceof AlterTableRenameCommand) {
            AlterTableRenameCommand r = (AlterTableRenameCommand) node;
            TableIdentifier to = r.newName();
            String db = to.database().isDefined() ? to.database().get()
                : r.oldName().database().isDefined() ? r.oldName().database().get() : g.currentDatabase();
            return new String[] {db, to.table()};
        }
        if (node.getClass().getSimpleName().equals("RenameTable")) {
            Object to = node.productElement(1);
            if (to instanceof scala.collection.Seq && ((scala.collection.Seq<?>) to).size() >= 2) {
                scala.collection.Seq<?> parts = (scala.collection.Seq<?>) to;
                return new String[] {String.valueOf(parts.apply(parts.size() - 2)), String.valueOf(parts.last())};
            }
            return null;
        }
        if (!CREATES.contains(node.getClass().getSimpleName())) return null;
        if (node instanceof CreateViewCommand && ((CreateViewCommand) node).viewType() != PersistedView$.MODULE$) return null;
        scala.collection.Iterator<Object> fields = node.productIterator();
        while (fields.hasNext()) {
            Object f = fields.next();
            TableIdentifier t = f instanceof TableIdentifier ? (TableIdentifier) f
                : f instanceof CatalogTable ? ((CatalogTable) f).identifier() : null;
            if (t != null) return new String[] {t.database().isDefined() ? t.database().get() : g.currentDatabase(), t.table()};
            if (f instanceof ResolvedIdentifier) {
                String[] ns = ((ResolvedIdentifier) f).identifier().namespace();
                return new String[] {ns.length > 0 ? ns[ns.length - 1] : g.currentDatabase(), ((ResolvedIdentifier) f).identifier().name()};
            }
        }
        return null;
    }

    /**
     * Refuse {@code verb} in {@code database} when it holds a governed table hidden from the user:
     * for every name alike, so no name tells a hidden table apart from a free one. (What it tells is
     * that the database holds something hidden, never what or under which name.)
     */
    static void hiddenIn(Governor g, String database, String verb) {
        for (String source : g.sourcesIn(database)) {
            if (g.decide(source).kind == Governor.HIDDEN) {
                throw Errors.unenforced("you may not " + verb + " database '" + database + "': it holds governed data you "
                    + "cannot see, so a name in it may be taken by a table hidden from you; use another database (your "
                    + "own, or your project's workspace), or ask the data's owners");
            }
        }
    }
}
