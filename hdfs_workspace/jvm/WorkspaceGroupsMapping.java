package io.immuta.hdfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.GroupMappingServiceProvider;
import org.apache.hadoop.security.Groups;
import org.apache.hadoop.security.ShellBasedUnixGroupsMapping;
import org.apache.hadoop.util.ReflectionUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hadoop group mapping that adds project-workspace groups, read from the governance catalog's
 * grants table, to a user's ordinary groups. Deployed into the NameNode as
 * {@code hadoop.security.group.mapping=io.immuta.hdfs.WorkspaceGroupsMapping}.
 *
 * <p>A user's groups = base groups ∪ workspace groups. Base groups come from
 * {@code immuta.workspace.groups.static} ({@code user=g1,g2;user2=g3}, the format of
 * {@code hadoop.user.group.static.mapping.overrides}) when the user is listed there, else from the
 * provider named by {@code immuta.workspace.groups.base.class} (default
 * {@link ShellBasedUnixGroupsMapping}). Hadoop's own static overrides are answered by
 * {@link Groups} without asking any provider, so a user listed there never gets workspace groups.
 *
 * <p>Workspace groups come from an in-memory snapshot; the RPC path never touches the database.
 * A daemon poller reads the generation every {@code immuta.workspace.grants.poll.ms} (default
 * 100); when it changed (or at start) it loads every grant, swaps the snapshot, invalidates the
 * NameNode's group cache ({@link Groups#refresh()} on the process-wide singleton), invalidates
 * again about 10 ms later (a lookup in flight during the first one may have stored a stale
 * answer) and then acknowledges the generation. A grant counts only while its
 * {@code expires_at} is in the future; a watcher thread invalidates the cache when an expiry
 * passes, so a lapsed lease disappears although Hadoop caches groups for
 * {@code hadoop.security.groups.cache.secs}.
 *
 * <p>Fail closed: with no JDBC URL, with the tables missing, or when the database could not be
 * read for longer than {@code immuta.workspace.grants.max.staleness.ms} (default 5000), nobody
 * has workspace groups (the cache is invalidated too). Database problems never make a lookup
 * throw: base groups are still answered.
 *
 * <p>Settings: {@code immuta.workspace.grants.jdbc.url} ({@code jdbc:sqlite:/path/catalog.db} or
 * {@code jdbc:postgresql://host/db}), {@code immuta.workspace.grants.jdbc.user},
 * {@code immuta.workspace.grants.jdbc.password.file} (the password is the file's content, trailing
 * newline dropped; it is never logged), {@code immuta.workspace.node.id} (default
 * {@code namenode}: the acknowledgement row's key).
 *
 * <p>Table contract (normative; the catalog creates these tables and is their only writer, except
 * for the acknowledgements written here):
 *
 * <pre>
 * CREATE TABLE workspace_grants (
 *   project TEXT NOT NULL, user_name TEXT NOT NULL, hadoop_group TEXT NOT NULL,
 *   holder TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL,   -- unix seconds
 *   PRIMARY KEY (project, user_name, holder));
 * CREATE TABLE workspace_grant_generation (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
 * CREATE TABLE workspace_grant_acks (
 *   node TEXT PRIMARY KEY, generation INTEGER NOT NULL, acked_at DOUBLE PRECISION NOT NULL);
 * </pre>
 *
 * Writers bump {@code generation} of row {@code id = 1} in the same transaction as every change to
 * {@code workspace_grants}. Once {@code workspace_grant_acks.generation >= G} for a node, every
 * group lookup on that node reflects at least the grants of generation G.
 */
public class WorkspaceGroupsMapping implements GroupMappingServiceProvider, Configurable {
  public static final String STATIC_KEY = "immuta.workspace.groups.static";
  public static final String BASE_CLASS_KEY = "immuta.workspace.groups.base.class";
  public static final String URL_KEY = "immuta.workspace.grants.jdbc.url";
  public static final String USER_KEY = "immuta.workspace.grants.jdbc.user";
  public static final String PASSWORD_FILE_KEY = "immuta.workspace.grants.jdbc.password.file";
  public static final String POLL_MS_KEY = "immuta.workspace.grants.poll.ms";
  public static final String MAX_STALENESS_MS_KEY = "immuta.workspace.grants.max.staleness.ms";
  public static final String NODE_ID_KEY = "immuta.workspace.node.id";

  private static final Logger LOG = LoggerFactory.getLogger(WorkspaceGroupsMapping.class);
  private static final long SECOND_INVALIDATION_DELAY_MS = 10;
  private static final String SELECT_GENERATION =
      "SELECT generation FROM workspace_grant_generation WHERE id = 1";
  private static final String SELECT_GRANTS =
      "SELECT user_name, hadoop_group, expires_at FROM workspace_grants";
  private static final String UPSERT_ACK =
      "INSERT INTO workspace_grant_acks (node, generation, acked_at) VALUES (?, ?, ?) "
          + "ON CONFLICT (node) DO UPDATE SET generation = excluded.generation, "
          + "acked_at = excluded.acked_at";

  /** One grant in memory: a group held until {@code expiresAtMs} (epoch millis). */
  private static final class Grant {
    final String group;
    final long expiresAtMs;

    Grant(String group, long expiresAtMs) {
      this.group = group;
      this.expiresAtMs = expiresAtMs;
    }
  }

  /** An immutable view of the grants table; replaced whole, never changed. */
  private static final class Snapshot {
    static final Snapshot EMPTY = new Snapshot(Collections.emptyMap(), new long[0]);

    final Map<String, List<Grant>> byUser;
    /** Distinct expiry instants, ascending. */
    final long[] expiries;

    Snapshot(Map<String, List<Grant>> byUser, long[] expiries) {
      this.byUser = byUser;
      this.expiries = expiries;
    }

    boolean isEmpty() {
      return byUser.isEmpty();
    }

    /** Whether some grant expires in {@code (after, upTo]}. */
    boolean expiresBetween(long after, long upTo) {
      int i = Arrays.binarySearch(expiries, after);
      int next = i >= 0 ? i + 1 : -i - 1;
      return next < expiries.length && expiries[next] <= upTo;
    }
  }

  private Configuration conf;
  private GroupMappingServiceProvider base;
  private Map<String, List<String>> staticGroups = Collections.emptyMap();
  private String url;
  private String dbUser;
  private String passwordFile;
  private String nodeId;
  private long pollMs;
  private long maxStalenessMs;

  private volatile Snapshot snapshot = Snapshot.EMPTY;
  /** When the database was last read successfully (epoch millis); 0 before the first read. */
  private volatile long lastReadOkMs;
  /** A lookup has happened, so the Groups singleton exists and may hold cached answers. */
  private volatile boolean looked;
  /** Reload even if the generation is unchanged (set by an administrator's cache refresh). */
  private final AtomicBoolean forceReload = new AtomicBoolean();
  private final Object invalidationLock = new Object();
  /** Set while this provider itself calls {@link Groups#refresh()}, which calls back into it. */
  private static final ThreadLocal<Boolean> OWN_INVALIDATION =
      ThreadLocal.withInitial(() -> Boolean.FALSE);

  // Poller-thread state.
  private Connection connection;
  private long loadedGeneration = -1;
  private long ackedGeneration = -1;
  private boolean failedClosed;
  private boolean readFailing;
  private boolean ackFailing;
  private Object connectionFileKey;
  private java.nio.file.Path sqlitePath;

  @Override
  public synchronized void setConf(Configuration conf) {
    if (this.conf != null) {
      return; // configured once: the poller is already running with these settings
    }
    this.conf = conf;
    staticGroups = parseStatic(conf.get(STATIC_KEY, ""));
    Class<? extends GroupMappingServiceProvider> baseClass =
        conf.getClass(BASE_CLASS_KEY, ShellBasedUnixGroupsMapping.class,
            GroupMappingServiceProvider.class);
    if (WorkspaceGroupsMapping.class.isAssignableFrom(baseClass)) {
      throw new IllegalArgumentException(BASE_CLASS_KEY + " must name another provider");
    }
    base = ReflectionUtils.newInstance(baseClass, conf);
    url = conf.getTrimmed(URL_KEY, "");
    dbUser = conf.getTrimmed(USER_KEY, "");
    passwordFile = conf.getTrimmed(PASSWORD_FILE_KEY, "");
    nodeId = conf.getTrimmed(NODE_ID_KEY, "namenode");
    pollMs = Math.max(1, conf.getLong(POLL_MS_KEY, 100));
    maxStalenessMs = Math.max(pollMs, conf.getLong(MAX_STALENESS_MS_KEY, 5000));
    if (url.isEmpty()) {
      LOG.warn("{} is not set: no user has workspace groups (fail closed)", URL_KEY);
      return;
    }
    sqlitePath = sqlitePath(url);
    LOG.info("workspace groups from {} every {} ms (node {}, base {})",
        redactUrl(url), pollMs, nodeId, baseClass.getName());
    Thread pollThread = new Thread(this::pollLoop, "workspace-grants-poller");
    pollThread.setDaemon(true);
    Thread watchThread = new Thread(this::watchLoop, "workspace-grants-watcher");
    watchThread.setDaemon(true);
    pollThread.start();
    watchThread.start();
  }

  @Override
  public Configuration getConf() {
    return conf;
  }

  @Override
  public List<String> getGroups(String user) throws IOException {
    return new ArrayList<>(getGroupsSet(user));
  }

  @Override
  public Set<String> getGroupsSet(String user) throws IOException {
    looked = true;
    Set<String> groups = new LinkedHashSet<>();
    List<String> fixed = staticGroups.get(user);
    if (fixed != null) {
      groups.addAll(fixed);
    } else {
      Set<String> fromBase = base.getGroupsSet(user);
      if (fromBase != null) {
        groups.addAll(fromBase);
      }
    }
    groups.addAll(workspaceGroups(user));
    return groups;
  }

  /** The user's unexpired workspace groups in the current snapshot; never touches the database. */
  List<String> workspaceGroups(String user) {
    long now = System.currentTimeMillis();
    if (now - lastReadOkMs > maxStalenessMs) {
      return Collections.emptyList(); // stale: fail closed even before the watcher swaps
    }
    List<Grant> grants = snapshot.byUser.get(user);
    if (grants == null) {
      return Collections.emptyList();
    }
    List<String> live = new ArrayList<>(grants.size());
    for (Grant grant : grants) {
      if (grant.expiresAtMs > now) {
        live.add(grant.group);
      }
    }
    return live;
  }

  @Override
  public void cacheGroupsRefresh() throws IOException {
    base.cacheGroupsRefresh();
    if (!OWN_INVALIDATION.get()) {
      // An administrator's refresh (dfsadmin -refreshUserToGroupsMappings): reload the grants
      // too. Our own invalidations (poller, watcher) do not loop back here.
      forceReload.set(true);
    }
  }

  @Override
  public void cacheGroupsAdd(List<String> groups) throws IOException {
    base.cacheGroupsAdd(groups);
  }

  // ---------------------------------------------------------------- poller

  private void pollLoop() {
    while (true) {
      try {
        pollOnce();
      } catch (RuntimeException e) {
        LOG.warn("workspace grants poll failed unexpectedly", e);
        closeConnection();
      }
      try {
        Thread.sleep(pollMs);
      } catch (InterruptedException e) {
        closeConnection();
        return;
      }
    }
  }

  private void pollOnce() {
    long generation;
    Snapshot loaded = null;
    // After an outage (or at start) reload and invalidate even if the generation is unchanged:
    // lookups answered meanwhile were cached without workspace groups.
    boolean recovering =
        readFailing || failedClosed || System.currentTimeMillis() - lastReadOkMs > maxStalenessMs;
    try {
      Connection c = connect();
      generation = readGeneration(c);
      boolean force = forceReload.getAndSet(false) || recovering;
      if (generation != loadedGeneration || force) {
        loaded = loadGrants(c);
      }
      lastReadOkMs = System.currentTimeMillis();
    } catch (SQLException e) {
      if (isMissingTable(e)) {
        lastReadOkMs = System.currentTimeMillis(); // the database answered: tables are missing
        failClosed("the grants tables are missing (" + e.getMessage() + ")");
      } else {
        if (!readFailing) {
          LOG.warn("cannot read workspace grants from {}: {} (fail closed after {} ms)",
              redactUrl(url), e.getMessage(), maxStalenessMs);
          readFailing = true;
        }
        closeConnection();
      }
      return;
    }
    if (readFailing || failedClosed) {
      LOG.info("workspace grants readable again from {}", redactUrl(url));
      readFailing = false;
      failedClosed = false;
    }
    if (loaded != null) {
      snapshot = loaded;
      loadedGeneration = generation;
      invalidateTwice();
      LOG.debug("workspace grants generation {}: {} users", generation, loaded.byUser.size());
    }
    if (ackedGeneration != loadedGeneration) {
      try {
        ack(connect(), loadedGeneration);
        ackedGeneration = loadedGeneration;
        ackFailing = false;
      } catch (SQLException e) {
        if (!ackFailing) {
          LOG.warn("cannot acknowledge workspace grants generation {}: {}", loadedGeneration,
              e.getMessage());
          ackFailing = true;
        }
        closeConnection();
      }
    }
  }

  /**
   * For SQLite, the database file's identity. A connection keeps reading a file that was deleted
   * or replaced under it; checking the path each poll makes a missing file fail closed and a
   * replaced one be reopened.
   */
  private Object sqliteFileKey() throws SQLException {
    if (sqlitePath == null) {
      return null;
    }
    try {
      BasicFileAttributes attrs = Files.readAttributes(sqlitePath, BasicFileAttributes.class);
      Object key = attrs.fileKey();
      return key != null ? key : attrs.creationTime();
    } catch (IOException e) {
      throw new SQLException("the grants database " + sqlitePath + " is missing or unreadable: "
          + e.getClass().getSimpleName());
    }
  }

  private Connection connect() throws SQLException {
    Object fileKey = sqliteFileKey();
    if (connection != null && Objects.equals(fileKey, connectionFileKey)) {
      return connection;
    }
    closeConnection();
    Properties props = new Properties();
    if (!dbUser.isEmpty()) {
      props.setProperty("user", dbUser);
    }
    if (!passwordFile.isEmpty()) {
      try {
        String password = new String(Files.readAllBytes(Paths.get(passwordFile)),
            StandardCharsets.UTF_8);
        props.setProperty("password", password.replaceAll("[\r\n]+$", ""));
      } catch (IOException e) {
        throw new SQLException("cannot read " + PASSWORD_FILE_KEY + " " + passwordFile + ": "
            + e.getClass().getSimpleName());
      }
    }
    int timeoutSecs = (int) Math.max(1, maxStalenessMs / 1000);
    if (url.startsWith("jdbc:sqlite:")) {
      // The catalog writes the same file: wait for its short write locks, do not create a
      // missing file (READWRITE without CREATE, so a wrong path fails closed visibly).
      props.setProperty("busy_timeout", String.valueOf(Math.min(5000, maxStalenessMs)));
      props.setProperty("open_mode", "2");
    } else if (url.startsWith("jdbc:postgresql:")) {
      props.setProperty("connectTimeout", String.valueOf(timeoutSecs));
      props.setProperty("socketTimeout", String.valueOf(timeoutSecs));
      props.setProperty("ApplicationName", "immuta-workspace-groups");
    }
    Connection c = DriverManager.getConnection(url, props);
    try {
      c.setAutoCommit(true);
    } catch (SQLException e) {
      c.close();
      throw e;
    }
    connection = c;
    connectionFileKey = fileKey;
    return c;
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        LOG.debug("closing the grants connection", e);
      }
      connection = null;
    }
  }

  private long readGeneration(Connection c) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.setQueryTimeout((int) Math.max(1, maxStalenessMs / 1000));
      try (ResultSet rs = st.executeQuery(SELECT_GENERATION)) {
        return rs.next() ? rs.getLong(1) : 0L; // no row yet: nothing was ever granted
      }
    }
  }

  private Snapshot loadGrants(Connection c) throws SQLException {
    Map<String, List<Grant>> byUser = new HashMap<>();
    TreeSet<Long> expiries = new TreeSet<>();
    try (Statement st = c.createStatement()) {
      st.setQueryTimeout((int) Math.max(1, maxStalenessMs / 1000));
      try (ResultSet rs = st.executeQuery(SELECT_GRANTS)) {
        while (rs.next()) {
          String user = rs.getString(1);
          String group = rs.getString(2);
          long expiresAtMs = (long) Math.floor(rs.getDouble(3) * 1000.0);
          if (user == null || group == null || group.isEmpty()) {
            continue;
          }
          byUser.computeIfAbsent(user, u -> new ArrayList<>()).add(new Grant(group, expiresAtMs));
          expiries.add(expiresAtMs);
        }
      }
    }
    long[] sorted = new long[expiries.size()];
    int i = 0;
    for (long e : expiries) {
      sorted[i++] = e;
    }
    return new Snapshot(Collections.unmodifiableMap(byUser), sorted);
  }

  private void ack(Connection c, long generation) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPSERT_ACK)) {
      ps.setQueryTimeout((int) Math.max(1, maxStalenessMs / 1000));
      ps.setString(1, nodeId);
      ps.setLong(2, generation);
      ps.setDouble(3, System.currentTimeMillis() / 1000.0);
      ps.executeUpdate();
    }
  }

  private static boolean isMissingTable(SQLException e) {
    if ("42P01".equals(e.getSQLState())) {
      return true; // PostgreSQL undefined_table
    }
    String message = e.getMessage();
    return message != null && message.contains("no such table");
  }

  /** Drop every workspace group now; the next successful read loads the grants again. */
  private void failClosed(String reason) {
    loadedGeneration = -1;
    ackedGeneration = -1;
    if (!failedClosed) {
      LOG.warn("workspace groups fail closed: {}", reason);
      failedClosed = true;
    }
    if (!snapshot.isEmpty()) {
      snapshot = Snapshot.EMPTY;
      invalidateTwice();
    }
  }

  // ---------------------------------------------------------------- watcher

  /**
   * Invalidates the cache when a grant expires and fails closed when the database has not been
   * read for too long. It never touches the database, so a poller stuck in a JDBC call cannot
   * keep stale grants alive.
   */
  private void watchLoop() {
    long checkedUpTo = System.currentTimeMillis();
    boolean stale = false;
    while (true) {
      try {
        Thread.sleep(pollMs);
      } catch (InterruptedException e) {
        return;
      }
      try {
        long now = System.currentTimeMillis();
        Snapshot current = snapshot;
        boolean nowStale = lastReadOkMs > 0 && now - lastReadOkMs > maxStalenessMs;
        if (nowStale && !stale) {
          LOG.warn("workspace groups fail closed: the grants database was not read for {} ms",
              now - lastReadOkMs);
          invalidateTwice();
        } else if (current.expiresBetween(checkedUpTo, now)) {
          invalidateTwice();
        }
        stale = nowStale;
        checkedUpTo = now;
      } catch (RuntimeException e) {
        LOG.warn("workspace grants watcher", e);
      }
    }
  }

  // ---------------------------------------------------------------- cache invalidation

  /**
   * Clears the NameNode's group cache (positive and negative) twice, about 10 ms apart: a lookup
   * that read the old snapshot just before the first clear may store its answer after it.
   */
  private void invalidateTwice() {
    if (!looked) {
      return; // no lookup yet, so nothing is cached (and the Groups singleton may not exist)
    }
    synchronized (invalidationLock) {
      OWN_INVALIDATION.set(Boolean.TRUE);
      try {
        Groups groups = Groups.getUserToGroupsMappingService(conf);
        groups.refresh();
        try {
          Thread.sleep(SECOND_INVALIDATION_DELAY_MS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        groups.refresh();
      } finally {
        OWN_INVALIDATION.set(Boolean.FALSE);
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Parses {@code user=g1,g2;user2=} like Hadoop's static mapping overrides. */
  static Map<String, List<String>> parseStatic(String spec) {
    Map<String, List<String>> out = new HashMap<>();
    for (String entry : spec.split(";")) {
      String trimmed = entry.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      int eq = trimmed.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(STATIC_KEY + ": bad entry '" + trimmed
            + "' (expected user=group1,group2)");
      }
      String user = trimmed.substring(0, eq).trim();
      List<String> groups = new ArrayList<>();
      for (String g : trimmed.substring(eq + 1).split(",")) {
        if (!g.trim().isEmpty()) {
          groups.add(g.trim());
        }
      }
      out.put(user, Collections.unmodifiableList(groups));
    }
    return Collections.unmodifiableMap(out);
  }

  /** The file of a {@code jdbc:sqlite:} URL, or null (another database, or in memory). */
  static java.nio.file.Path sqlitePath(String jdbcUrl) {
    if (!jdbcUrl.startsWith("jdbc:sqlite:")) {
      return null;
    }
    String rest = jdbcUrl.substring("jdbc:sqlite:".length());
    int q = rest.indexOf('?');
    if (q >= 0) {
      rest = rest.substring(0, q);
    }
    if (rest.startsWith("file:")) {
      rest = rest.substring("file:".length());
    }
    if (rest.isEmpty() || rest.startsWith(":")) {
      return null;
    }
    return Paths.get(rest);
  }

  /** The URL without query parameters (which may carry credentials). */
  private static String redactUrl(String jdbcUrl) {
    int q = jdbcUrl.indexOf('?');
    return q < 0 ? jdbcUrl : jdbcUrl.substring(0, q) + "?...";
  }
}
