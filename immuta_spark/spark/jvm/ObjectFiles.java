// The files of an object-backed source, listed once per query in one py4j call: for each file its
// qualified path as input_file_name() gives it, its decoded path, size, modification time and user.*
// extended attributes (Spark has no column for a file's xattrs). Python decides which files a user
// may see (immuta_spark/objects.py); this only describes what the file system holds.
package io.immutaspark;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.SparkSession;

final class ObjectFiles {
    private ObjectFiles() {}

    /**
     * One line per file beneath {@code location} (recursively; names starting with "_" or "." are
     * skipped, as Spark's file index skips them): uri, path, length, modification time (ms), then
     * name PART value for each user.* xattr, fields separated by SEP, names and values escaped.
     */
    static String list(SparkSession session, String location) throws IOException {
        Configuration conf = session.sessionState().newHadoopConf();
        Path root = new Path(location);
        FileSystem fs = root.getFileSystem(conf);
        StringBuilder out = new StringBuilder();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
        while (it.hasNext()) {
            LocatedFileStatus st = it.next();
            Path p = st.getPath();
            if (hidden(root, p)) continue;
            out.append(PlanInspector.esc(p.toUri().toString())).append(PlanInspector.SEP)
                .append(PlanInspector.esc(p.toUri().getPath())).append(PlanInspector.SEP)
                .append(st.getLen()).append(PlanInspector.SEP)
                .append(st.getModificationTime());
            for (Map.Entry<String, byte[]> x : xattrs(fs, p).entrySet()) {
                if (!x.getKey().startsWith("user.") || x.getValue() == null) continue;
                out.append(PlanInspector.SEP).append(PlanInspector.esc(x.getKey())).append(PlanInspector.PART)
                    .append(PlanInspector.esc(new String(x.getValue(), StandardCharsets.UTF_8)));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static Map<String, byte[]> xattrs(FileSystem fs, Path p) throws IOException {
        try {
            return fs.getXAttrs(p);
        } catch (UnsupportedOperationException e) {
            return Map.of();  // a file system without xattrs (the local one): no file carries any, all fail closed
        }
    }

    /** Whether a file, or a directory between the root and it, is one Spark's file index leaves out. */
    private static boolean hidden(Path root, Path p) {
        String base = root.toUri().getPath().replaceAll("/+$", "");
        String rest = p.toUri().getPath();
        rest = rest.startsWith(base + "/") ? rest.substring(base.length() + 1) : p.getName();
        for (String part : rest.split("/")) {
            if ((part.startsWith("_") && !part.contains("=")) || part.startsWith(".")) return true;
        }
        return false;
    }
}
