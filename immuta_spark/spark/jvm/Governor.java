// One governed session's enforcement state inside the JVM, and the wiring of the analyzer rules.
// Python (immuta_spark/spark/governor.py) owns every decision: it tells the Governor which tables and
// locations are governed, and, asked through the provider callback the first time a query reaches a
// governed source, whether the source is hidden, denied, or enforced by a template plan it built.
package io.immutaspark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.SessionCatalog;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.trees.TreeNodeTag;

public final class Governor {
    /** On the Project that enforces one relation: "token:generation|source" of the rules it was made under. */
    public static final TreeNodeTag<String> ENFORCED = TreeNodeTag.apply("immuta.enforced");
    /** Also on the enforced Project of a differentially private source: the source's name. */
    public static final TreeNodeTag<String> DP = TreeNodeTag.apply("immuta.dp");

    static final int ENFORCE = 0;
    static final int HIDDEN = 1;
    static final int DENIED = 2;
    static final int FAILED = 3;
    static final int PRIVATE = 4;

    private static final Map<SparkSession, Governor> SESSIONS = Collections.synchronizedMap(new WeakHashMap<>());
    private static final Set<SparkSessionExtensions> INSTALLED =
        Collections.newSetFromMap(Collections.synchronizedMap(new WeakHashMap<>()));

    /** What Python decided for one source under the current generation. */
    static final class Decision {
        final int kind;
        final String message;
        final LogicalPlan template;
        final boolean owner;
        /** A k-anonymization's template from group counts taken once, valid only over the files they counted. */
        final LogicalPlan pinned;
        /** The listing ({@link Relations#listing}) {@link #pinned}'s counts were taken of. */
        final String listing;

        Decision(int kind, String message, LogicalPlan template, boolean owner) {
            this(kind, message, template, owner, null, null);
        }

        Decision(int kind, String message, LogicalPlan template, boolean owner, LogicalPlan pinned, String listing) {
            this.kind = kind;
            this.message = message;
            this.template = template;
            this.owner = owner;
            this.pinned = pinned;
            this.listing = listing;
        }
    }

    private final SparkSession session;
    private final String token;
    private final Function<Object, Object> provider;
    private volatile long generation;
    private volatile String prefix;
    private volatile Map<String, String> tables = Map.of();
    private volatile Map<String, String> declared = Map.of();
    private volatile List<String[]> storage;
    private volatile List<String> forbidden = List.of();
    private volatile List<String> roots = List.of();
    private volatile List<String> jdbcForbidden = List.of();
    private volatile List<String> jdbcRoots = List.of();
    private volatile List<String> settings = List.of();
    private final ThreadLocal<int[]> answering = ThreadLocal.withInitial(() -> new int[1]);
    private final ThreadLocal<int[]> privately = ThreadLocal.withInitial(() -> new int[1]);
    private volatile Configuration hadoopConf;
    private final ConcurrentHashMap<String, Decision> decisions = new ConcurrentHashMap<>();

    /** Python holds one instance per governed session; its methods are one py4j call each. */
    public Governor(SparkSession session, String token, Function<Object, Object> provider) {
        this.session = session;
        this.token = token;
        this.provider = provider;
        this.prefix = token + ":0|";
        SESSIONS.put(session, this);
    }

    /**
     * Add the rules to the extensions of {@code root}. Sessions made from it afterwards
     * ({@code newSession()}) build their analyzer from these extensions, so they carry the rules;
     * a session without a registered Governor is left as it is.
     */
    public static void install(SparkSession root) {
        SparkSessionExtensions extensions = ((org.apache.spark.sql.classic.SparkSession) root).extensions();
        synchronized (INSTALLED) {
            if (!INSTALLED.add(extensions)) return;
            extensions.injectResolutionRule(s -> new EnforceRule(s));
            extensions.injectCheckRule(s -> plan -> {
                Governor g = of(s);
                if (g != null) new GuardCheck(g).check(plan);
                return scala.runtime.BoxedUnit.UNIT;
            });
        }
    }

    /**
     * Make {@code session} use the table relation cache of {@code root}: a table written, dropped or
     * refreshed through any session is then read afresh by all of them, as when they were one
     * session (Spark keeps one cache per session otherwise, and a user would read a file listing
     * another session's write made stale).
     */
    public static void shareRelationCache(SparkSession root, SparkSession session) {
        SessionCatalog from = root.sessionState().catalog();
        SessionCatalog to = session.sessionState().catalog();
        try {
            java.lang.reflect.Field f = SessionCatalog.class.getDeclaredField("tableRelationCache");
            f.setAccessible(true);
            f.set(to, f.get(from));
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("the governed session could not share Spark's table relation cache", e);
        }
    }

    /** Whether {@link #install} reached the extensions of {@code session}. */
    public static boolean installed(SparkSession session) {
        return INSTALLED.contains(((org.apache.spark.sql.classic.SparkSession) session).extensions());
    }

    static Governor of(SparkSession session) {
        return SESSIONS.get(session);
    }

    /** Stop governing the session: its queries fail from now on (it is stopping). */
    public void close() {
        reset(generation + 1, List.of(), List.of(), List.of(), List.of());
        decisions.clear();
        prefix = token + ":closed|";
    }

    /**
     * The rules changed (a new catalog revision, another project): every decision is dropped and
     * enforced subtrees made under the old generation are enforced again when next analyzed.
     */
    public synchronized void reset(
            long generation, List<String> tableKeys, List<String> tableSources, List<String> declaredSources,
            List<String> declaredLocations) {
        Map<String, String> t = new HashMap<>();
        for (int i = 0; i < tableKeys.size(); i++) t.put(tableKeys.get(i).toLowerCase(Locale.ROOT), tableSources.get(i));
        Map<String, String> d = new HashMap<>();
        for (int i = 0; i < declaredSources.size(); i++) d.put(declaredSources.get(i), declaredLocations.get(i));
        this.decisions.clear();
        this.tables = t;
        this.declared = d;
        this.storage = null;
        this.hadoopConf = null;
        this.generation = generation;
        this.prefix = token + ":" + generation + "|";
    }

    /**
     * What the session's queries may touch besides governed tables: never {@code forbidden} paths (the
     * catalog, the metastore, keytabs) or JDBC URLs starting with one of {@code jdbcForbidden} (the
     * metastore's and the catalog's databases); other files only beneath one of {@code roots}, other
     * JDBC databases only by a URL starting with one of {@code jdbcRoots}.
     */
    public void limits(List<String> forbidden, List<String> roots, List<String> jdbcForbidden, List<String> jdbcRoots) {
        List<String> q = new ArrayList<>();
        for (String p : forbidden) q.add(qualify(p));
        List<String> r = new ArrayList<>();
        for (String p : roots) r.add(qualify(p));
        this.forbidden = q;
        this.roots = r;
        this.jdbcForbidden = List.copyOf(jdbcForbidden);
        this.jdbcRoots = List.copyOf(jdbcRoots);
    }

    /** The settings a user may change: a key listed exactly, or under a listed prefix ending in ".". */
    public void settings(List<String> allowed) {
        this.settings = List.copyOf(allowed);
    }

    boolean settingAllowed(String key) {
        for (String a : settings) {
            if (key.equals(a) || (a.endsWith(".") && key.startsWith(a))) return true;
        }
        return false;
    }

    /**
     * Python answers some statements itself from what Spark returns (SHOW TABLES without hidden
     * tables): while it runs one on this thread, the check lets it through; anywhere else (inside
     * EXECUTE IMMEDIATE) the check refuses it.
     */
    public void answering(boolean on) {
        answering.get()[0] += on ? 1 : -1;
    }

    boolean answered() {
        return answering.get()[0] > 0;
    }

    /**
     * Python answers an aggregate query over a differentially private source (adding the noise to
     * what Spark computes): while it analyzes and runs that query on this thread, such a source is
     * enforced; anywhere else reaching it is refused.
     */
    public void privately(boolean on) {
        privately.get()[0] += on ? 1 : -1;
    }

    boolean inPrivate() {
        return privately.get()[0] > 0;
    }

    /** The forbidden path a qualified {@code q} is, lies beneath or above, if any. */
    String forbiddenOverlapQualified(String q) {
        for (String l : forbidden) {
            if (overlaps(q, l)) return l;
        }
        return null;
    }

    /** Whether a qualified {@code q} lies in (or is) one of the data roots. */
    boolean underRoot(String q) {
        for (String r : roots) {
            if (q.equals(r) || q.startsWith(r + "/")) return true;
        }
        return false;
    }

    /** The roots, for messages. */
    List<String> roots() {
        return roots;
    }

    /** Whether a JDBC URL may be read or written: under a JDBC root and not the metastore's or the catalog's. */
    boolean jdbcAllowed(String url) {
        String u = url.trim();
        String lower = u.toLowerCase(Locale.ROOT);
        for (String f : jdbcForbidden) if (lower.startsWith(f.toLowerCase(Locale.ROOT))) return false;
        for (String l : forbidden) {  // an embedded database's files named in the URL (Derby, H2, SQLite)
            String local = l.startsWith("file:") ? l.substring("file:".length()) : l;
            if (u.contains(local)) return false;
        }
        for (String r : jdbcRoots) if (u.startsWith(r)) return true;
        return false;
    }

    public String prefix() {
        return prefix;
    }

    public void enforce(String source, LogicalPlan template, boolean owner) {
        decisions.put(source, new Decision(ENFORCE, null, template, owner));
    }

    /**
     * Enforce {@code source} with {@code template}, or with {@code pinned} over a relation whose files are
     * exactly {@code listing} (a k-anonymization whose group counts were taken once, of those files).
     */
    public void enforcePinned(String source, LogicalPlan template, LogicalPlan pinned, String listing, boolean owner) {
        decisions.put(source, new Decision(ENFORCE, null, template, owner, pinned, listing));
    }

    /**
     * The template of {@code source} for {@code leaf} under {@code d}: the pinned one only when the leaf
     * reads exactly the files its counts were taken of. Otherwise the counting one, and the decision is
     * dropped, so that the next query asks Python again: the table changed, and Python builds its
     * template afresh (keyed by Spark's cached relation, which changed too), counting the new files once.
     */
    LogicalPlan templateFor(String source, Decision d, LogicalPlan leaf) {
        if (d.pinned == null || d.listing == null) return d.template;
        if (d.listing.equals(Relations.listing(leaf))) return d.pinned;
        decisions.remove(source, d);
        return d.template;
    }

    /** {@link Relations#listing} of the one relation beneath {@code plan} (null when it has none or several). */
    public static String listingOf(LogicalPlan plan) {
        LogicalPlan leaf = EnforceRule.relationOf(plan);
        return leaf == null ? null : Relations.listing(leaf);
    }

    /** Enforce {@code source} with {@code template}, for differentially private answers only. */
    public void enforcePrivate(String source, LogicalPlan template, boolean owner) {
        decisions.put(source, new Decision(PRIVATE, null, template, owner));
    }

    public void hide(String source) {
        decisions.put(source, new Decision(HIDDEN, null, null, false));
    }

    public void deny(String source, String message, boolean owner) {
        decisions.put(source, new Decision(DENIED, message, null, owner));
    }

    public void fail(String source, String message) {
        decisions.put(source, new Decision(FAILED, message, null, false));
    }

    /** Whether {@code plan} holds an enforced subtree of a source the user does not own (or of other rules). */
    public boolean readsUnowned(LogicalPlan plan) {
        return SideDoors.readsUnowned(this, plan);
    }

    /** How many decisions are held (tests and the benchmark read it). */
    public int decided() {
        return decisions.size();
    }

    String source(String db, String table) {
        return tables.get((db + "." + table).toLowerCase(Locale.ROOT));
    }

    SparkSession session() {
        return session;
    }

    /** The session's current database. */
    String currentDatabase() {
        return session.sessionState().catalog().getCurrentDatabase();
    }

    /** The governed sources whose tables are in {@code database}. */
    List<String> sourcesIn(String database) {
        List<String> found = new ArrayList<>();
        String prefix = database.toLowerCase(Locale.ROOT) + ".";
        for (Map.Entry<String, String> e : tables.entrySet()) if (e.getKey().startsWith(prefix)) found.add(e.getValue());
        return found;
    }

    Decision decide(String source) {
        Decision d = decisions.get(source);
        if (d == null) {
            provider.apply(source);
            d = decisions.get(source);
        }
        if (d == null) throw Errors.unenforced("no enforcement could be made for a governed table; refused (fail closed)");
        return d;
    }

    /** (qualified location, source) of every governed table: the metastore's location and the declared one. */
    List<String[]> storage() {
        List<String[]> found = storage;
        if (found != null) return found;
        found = new ArrayList<>();
        SessionCatalog catalog = session.sessionState().catalog();
        Map<String, String> byTable = tables;
        for (Map.Entry<String, String> e : byTable.entrySet()) {
            String[] parts = e.getKey().split("\\.", 2);
            TableIdentifier ident = new TableIdentifier(parts[1], scala.Option.apply(parts[0]));
            if (!catalog.tableExists(ident)) continue;
            CatalogTable meta;
            try {
                meta = catalog.getTableMetadata(ident);
            } catch (Exception ex) {
                continue;  // dropped meanwhile
            }
            if (meta.storage().locationUri().isDefined()) {
                found.add(new String[] {qualify(meta.storage().locationUri().get().toString()), e.getValue()});
            }
        }
        for (Map.Entry<String, String> e : declared.entrySet()) {
            found.add(new String[] {qualify(e.getValue()), e.getKey()});
        }
        storage = found;
        return found;
    }

    /** The source whose storage is exactly the qualified path {@code q}, if any. */
    String sourceAtQualified(String q) {
        for (String[] loc : storage()) if (loc[0].equals(q)) return loc[1];
        return null;
    }

    /** The source whose storage is the qualified path {@code q}, lies beneath it or above it, if any. */
    String overlappingQualified(String q) {
        for (String[] loc : storage()) {
            if (overlaps(q, loc[0])) return loc[1];
        }
        return null;
    }

    /** Whether a qualified {@code q} lies strictly beneath a governed table's storage. */
    boolean beneathStorage(String q) {
        for (String[] loc : storage()) {
            if (q.startsWith(loc[0] + "/")) return true;
        }
        return false;
    }

    /** Whether qualified paths {@code a} and {@code b} are one, or one lies beneath the other. */
    static boolean overlaps(String a, String b) {
        return a.equals(b) || a.startsWith(b + "/") || b.startsWith(a + "/");
    }

    /** A path with its file system's scheme and authority; a local path by its real path (no symlink hides). */
    String qualify(String path) {
        try {
            Path p = new Path(path);
            Configuration conf = hadoopConf;
            if (conf == null) hadoopConf = conf = session.sessionState().newHadoopConf();  // a copy: made once
            FileSystem fs = p.getFileSystem(conf);
            Path q = fs.makeQualified(p);
            if ("file".equals(q.toUri().getScheme())) {
                q = new Path("file", null, new java.io.File(q.toUri().getPath()).getCanonicalPath());
            }
            String s = q.toString();
            while (s.endsWith("/") && s.length() > 1) s = s.substring(0, s.length() - 1);
            return s;
        } catch (java.io.IOException | RuntimeException e) {
            throw Errors.unenforced("the path " + path + " could not be checked against governed storage; refused");
        }
    }
}
