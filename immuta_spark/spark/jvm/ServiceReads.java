// Reads of governed storage as the service identity, for governed sessions only.
//
// A governed source may live where its readers' own Hadoop identities may not read (a project's
// workspace, or storage walled off for the service identity alone). Installed for one HDFS file
// system, this wrapper takes that file system's place in Hadoop's FileSystem cache of the JVM:
// every read call (open, status, listing, block locations) of a path beneath a governed source's
// location goes to a second client of the same cluster logged in as the service identity, but only
// on a thread that runs a governed session's statement or action (the Spark local property
// immuta.serviceReads, which Spark hands on to the job's tasks). Everything else, every write
// among it, goes to the original client as the user. A governed plan reads governed storage only
// through enforced relations (the rules refuse any other way), so within such a statement the
// service identity reads only what the enforcement lets through.
package io.immutaspark;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.ContentSummary;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FilterFileSystem;
import org.apache.hadoop.fs.FutureDataInputStreamBuilder;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.PathFilter;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;

public final class ServiceReads extends FilterFileSystem {
    /** The Spark local property naming the governed session (its token) a statement runs for. */
    public static final String KEY = "immuta.serviceReads";

    /** Qualified locations of governed sources, per governed session's token. */
    private static final Map<String, List<String>> LOCATIONS = new ConcurrentHashMap<>();
    private static volatile SparkContext context;

    private final FileSystem service;

    private ServiceReads(FileSystem user, FileSystem service) {
        super(user);
        this.service = service;
    }

    /**
     * Put the wrapper in place for {@code uri}'s file system (once per JVM and file system), its
     * service client logged in as {@code serviceUser} (from {@code keytab} when given: Kerberos).
     */
    public static synchronized void install(SparkSession spark, String uri, String serviceUser, String keytab)
            throws IOException, InterruptedException, ReflectiveOperationException {
        context = spark.sparkContext();
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        URI u = URI.create(uri);
        FileSystem current = FileSystem.get(u, conf);
        if (current instanceof ServiceReads) return;
        UserGroupInformation ugi = keytab == null || keytab.isEmpty()
            ? UserGroupInformation.createRemoteUser(serviceUser)
            : UserGroupInformation.loginUserFromKeytabAndReturnUGI(serviceUser, keytab);
        FileSystem service = ugi.doAs(
            (java.security.PrivilegedExceptionAction<FileSystem>) () -> FileSystem.newInstance(u, conf));
        ServiceReads wrapper = new ServiceReads(current, service);
        wrapper.setConf(conf);
        // Hadoop keeps one client per (scheme, authority, user); the wrapper takes the user's place.
        Method add = FileSystem.class.getDeclaredMethod("addFileSystemForTesting", URI.class, Configuration.class, FileSystem.class);
        add.setAccessible(true);
        add.invoke(null, u, conf, wrapper);
    }

    /** The governed sources' qualified locations the session {@code token} reads as the service identity. */
    public static void govern(String token, List<String> locations) {
        LOCATIONS.put(token, List.copyOf(locations));
    }

    /** The session {@code token} is closed: nothing is read for it any more. */
    public static void forget(String token) {
        LOCATIONS.remove(token);
    }

    /** What Python calls (py4j reaches instance methods of classes it cannot name). */
    public static final class Control {
        public void install(SparkSession spark, String uri, String serviceUser, String keytab)
                throws IOException, InterruptedException, ReflectiveOperationException {
            ServiceReads.install(spark, uri, serviceUser, keytab);
        }

        public void govern(String token, List<String> locations) {
            ServiceReads.govern(token, locations);
        }

        public void forget(String token) {
            ServiceReads.forget(token);
        }
    }

    private static String token() {
        TaskContext task = TaskContext.get();
        if (task != null) return task.getLocalProperty(KEY);
        SparkContext sc = context;
        return sc == null ? null : sc.getLocalProperty(KEY);
    }

    private FileSystem pick(Path p) {
        String token = token();
        if (token == null) return fs;
        List<String> locations = LOCATIONS.get(token);
        if (locations == null || locations.isEmpty()) return fs;
        String q = fs.makeQualified(p).toString();
        for (String l : locations) {
            if (q.equals(l) || q.startsWith(l.endsWith("/") ? l : l + "/")) return service;
        }
        return fs;
    }

    @Override
    public FSDataInputStream open(Path f, int bufferSize) throws IOException {
        return pick(f).open(f, bufferSize);
    }

    @Override
    public FutureDataInputStreamBuilder openFile(Path path) throws IOException, UnsupportedOperationException {
        FileSystem to = pick(path);
        return to == fs ? super.openFile(path) : to.openFile(path);
    }

    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
        return pick(f).getFileStatus(f);
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
        return pick(f).listStatus(f);
    }

    @Override
    public FileStatus[] listStatus(Path f, PathFilter filter) throws IOException {
        return pick(f).listStatus(f, filter);
    }

    @Override
    public RemoteIterator<LocatedFileStatus> listLocatedStatus(Path f) throws IOException {
        return pick(f).listLocatedStatus(f);
    }

    @Override
    protected RemoteIterator<LocatedFileStatus> listLocatedStatus(Path f, PathFilter filter)
            throws FileNotFoundException, IOException {
        FileSystem to = pick(f);
        if (to == fs) return super.listLocatedStatus(f, filter);
        RemoteIterator<LocatedFileStatus> all = to.listLocatedStatus(f);
        return new RemoteIterator<LocatedFileStatus>() {
            private LocatedFileStatus next;

            @Override
            public boolean hasNext() throws IOException {
                while (next == null && all.hasNext()) {
                    LocatedFileStatus s = all.next();
                    if (filter.accept(s.getPath())) next = s;
                }
                return next != null;
            }

            @Override
            public LocatedFileStatus next() throws IOException {
                if (!hasNext()) throw new java.util.NoSuchElementException();
                LocatedFileStatus s = next;
                next = null;
                return s;
            }
        };
    }

    @Override
    public RemoteIterator<FileStatus> listStatusIterator(Path p) throws IOException {
        return pick(p).listStatusIterator(p);
    }

    @Override
    public BlockLocation[] getFileBlockLocations(FileStatus file, long start, long len) throws IOException {
        return file == null ? super.getFileBlockLocations(file, start, len)
            : pick(file.getPath()).getFileBlockLocations(file, start, len);
    }

    @Override
    public BlockLocation[] getFileBlockLocations(Path p, long start, long len) throws IOException {
        return pick(p).getFileBlockLocations(p, start, len);
    }

    // Extended attributes are read like the files: an object-backed source's row policies read them.
    @Override
    public byte[] getXAttr(Path path, String name) throws IOException {
        return pick(path).getXAttr(path, name);
    }

    @Override
    public java.util.Map<String, byte[]> getXAttrs(Path path) throws IOException {
        return pick(path).getXAttrs(path);
    }

    @Override
    public java.util.Map<String, byte[]> getXAttrs(Path path, List<String> names) throws IOException {
        return pick(path).getXAttrs(path, names);
    }

    @Override
    public List<String> listXAttrs(Path path) throws IOException {
        return pick(path).listXAttrs(path);
    }

    @Override
    public ContentSummary getContentSummary(Path f) throws IOException {
        return pick(f).getContentSummary(f);
    }

    @Override
    public void access(Path path, FsAction mode) throws IOException {
        // Only reading is ever done as the service identity: a write's check stays the user's.
        if (mode.implies(FsAction.WRITE)) fs.access(path, mode);
        else pick(path).access(path, mode);
    }

    @Override
    public void close() throws IOException {
        try {
            service.close();
        } finally {
            super.close();
        }
    }
}
