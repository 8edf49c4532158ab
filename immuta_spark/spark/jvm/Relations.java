// What a leaf of an analyzed plan reads: a catalog table (by name) and the storage paths behind it.
package io.immutaspark;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.apache.hadoop.fs.FileStatus;

import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.HiveTableRelation;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.InMemoryFileIndex;
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

    /**
     * A digest of the files a file relation reads, as its file index listed them (path, length,
     * modification time, sorted): what its scan will read, with no file-system call. Null for any
     * other relation (a partitioned table's catalog index, Hive SerDe, JDBC, DSv2): nothing is pinned to it.
     */
    static String listing(LogicalPlan node) {
        if (!(node instanceof LogicalRelation) || !(((LogicalRelation) node).relation() instanceof HadoopFsRelation)) return null;
        HadoopFsRelation rel = (HadoopFsRelation) ((LogicalRelation) node).relation();
        if (!(rel.location() instanceof InMemoryFileIndex)) return null;
        List<String> lines = new ArrayList<>();
        scala.collection.Iterator<FileStatus> it = ((InMemoryFileIndex) rel.location()).allFiles().iterator();
        while (it.hasNext()) {
            FileStatus st = it.next();
            lines.add(st.getPath().toString() + '\0' + st.getLen() + '\0' + st.getModificationTime());
        }
        java.util.Collections.sort(lines);
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String l : lines) md.update((l + '\n').getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            return null;
        }
    }
}
