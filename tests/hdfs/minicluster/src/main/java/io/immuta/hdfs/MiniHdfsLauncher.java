package io.immuta.hdfs;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.NameNodeProxies;
import org.apache.hadoop.hdfs.protocol.DatanodeID;
import org.apache.hadoop.hdfs.tools.DFSAdmin;
import org.apache.hadoop.security.Groups;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.tools.GetUserMappingsProtocol;
import org.apache.hadoop.security.authorize.ProxyUsers;

/**
 * Starts a one-DataNode MiniDFSCluster for the Python test suite and benchmark.
 *
 * <p>Usage: {@code MiniHdfsLauncher <site.xml> <basedir>}. The site file carries the policy
 * settings (ACLs, group mapping, proxy users); this class adds the settings that keep every
 * listener on 127.0.0.1, because that is a safety property the caller must not be able to drop.
 *
 * <p>Protocol on stdout: lines starting with {@code MINIHDFS }. Once the cluster is active it
 * prints {@code MINIHDFS READY {json}}. It then reads commands from stdin, one a line:
 * {@code mktree USER ROOT DIRS FILES_PER_DIR DIR_MODE FILE_MODE} (answers {@code MINIHDFS OK ...}
 * or {@code MINIHDFS ERR ...}), {@code groups USER} (the NameNode's groups for USER, asked over
 * RPC as {@code hdfs groups} does: {@code MINIHDFS OK groups ["g1", ...]}),
 * {@code refresh-user-groups} ({@code hdfs dfsadmin -refreshUserToGroupsMappings}, over RPC as
 * the NameNode's superuser) and {@code stop}. End of stdin also stops the cluster, so a
 * parent that dies without cleaning up still takes the cluster with it.
 */
public final class MiniHdfsLauncher {
  private static final String LOOPBACK_ANY_PORT = "127.0.0.1:0";
  private static final PrintStream PROTOCOL = System.out;

  private MiniHdfsLauncher() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: MiniHdfsLauncher <site.xml> <basedir>");
      System.exit(2);
    }
    long started = System.nanoTime();
    // Hadoop and its dependencies print to System.out in places; keep stdout for the protocol.
    System.setOut(System.err);

    Configuration conf = new HdfsConfiguration();
    conf.addResource(new Path(new File(args[0]).toURI()));
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, args[1]);
    bindToLoopback(conf);

    // Both are process-wide singletons that other code may initialise from a default
    // Configuration first; initialise them from ours so the static group mapping and the
    // proxy-user rules are the ones the NameNode enforces.
    UserGroupInformation.setConfiguration(conf);
    Groups.getUserToGroupsMappingService(conf);
    ProxyUsers.refreshSuperUserGroupsConfiguration(conf);

    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf)
            .nameNodePort(0)
            .nameNodeHttpPort(0)
            .numDataNodes(1)
            .checkDataNodeAddrConfig(true)
            .checkDataNodeHostConfig(true)
            .format(true)
            .build();
    Runtime.getRuntime().addShutdownHook(new Thread(cluster::shutdown, "minihdfs-shutdown"));
    try {
      cluster.waitActive();
      cluster.waitClusterUp();
      int rpcPort = cluster.getNameNodePort();
      int httpPort = cluster.getNameNode().getHttpAddress().getPort();
      String fsUri = "hdfs://127.0.0.1:" + rpcPort;
      File confDir = new File(args[1], "client-conf");
      writeClientConf(confDir, fsUri, rpcPort, httpPort);
      long elapsedMs = (System.nanoTime() - started) / 1_000_000L;
      PROTOCOL.println(
          "MINIHDFS READY {\"fs_uri\": \"" + fsUri + "\", \"webhdfs_url\": \"http://127.0.0.1:"
              + httpPort + "\", \"rpc_port\": " + rpcPort + ", \"http_port\": " + httpPort
              + ", \"conf_dir\": \"" + jsonEscape(confDir.getAbsolutePath())
              + "\", \"java_start_ms\": " + elapsedMs + "}");
      PROTOCOL.flush();
      serve(cluster, conf, fsUri);
    } finally {
      cluster.shutdown();
      PROTOCOL.println("MINIHDFS STOPPED");
      PROTOCOL.flush();
    }
  }

  private static void bindToLoopback(Configuration conf) {
    String[] addressKeys = {
      "dfs.namenode.https-address",
      "dfs.namenode.secondary.http-address",
      "dfs.namenode.secondary.https-address",
      "dfs.namenode.backup.address",
      "dfs.namenode.backup.http-address",
      "dfs.datanode.address",
      "dfs.datanode.http.address",
      "dfs.datanode.https.address",
      "dfs.datanode.ipc.address",
      "dfs.journalnode.rpc-address",
      "dfs.journalnode.http-address",
      "dfs.journalnode.https-address",
    };
    for (String key : addressKeys) {
      conf.set(key, LOOPBACK_ANY_PORT);
    }
    // The DataNode advertises this name, and WebHDFS redirects reads and writes to it.
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.set("dfs.datanode.dns.interface", "lo");
    for (String key : new String[] {
        "dfs.namenode.rpc-bind-host", "dfs.namenode.servicerpc-bind-host",
        "dfs.namenode.lifeline.rpc-bind-host", "dfs.namenode.http-bind-host",
        "dfs.namenode.https-bind-host"}) {
      conf.set(key, "127.0.0.1");
    }
    conf.set("dfs.http.policy", "HTTP_ONLY");
  }

  private static void writeClientConf(File dir, String fsUri, int rpcPort, int httpPort)
      throws IOException {
    if (!dir.isDirectory() && !dir.mkdirs()) {
      throw new IOException("cannot create " + dir);
    }
    Configuration core = new Configuration(false);
    core.set("fs.defaultFS", fsUri);
    core.set("hadoop.security.authentication", "simple");
    Configuration hdfs = new Configuration(false);
    hdfs.set("dfs.namenode.rpc-address", "127.0.0.1:" + rpcPort);
    hdfs.set("dfs.namenode.http-address", "127.0.0.1:" + httpPort);
    hdfs.set("dfs.webhdfs.enabled", "true");
    hdfs.set("dfs.replication", "1");
    hdfs.set("dfs.namenode.acls.enabled", "true");
    try (OutputStream out = new FileOutputStream(new File(dir, "core-site.xml"))) {
      core.writeXml(out);
    }
    try (OutputStream out = new FileOutputStream(new File(dir, "hdfs-site.xml"))) {
      hdfs.writeXml(out);
    }
  }

  private static void serve(MiniDFSCluster cluster, Configuration conf, String fsUri)
      throws IOException {
    MiniDFSCluster.DataNodeProperties stopped = null;
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] words = line.trim().split("\\s+");
      if (words.length == 0 || words[0].isEmpty()) {
        continue;
      }
      try {
        switch (words[0]) {
          case "stop":
            return;
          case "ping":
            PROTOCOL.println("MINIHDFS OK pong");
            break;
          case "datanode-stop":
            // Stopped, and known dead to the NameNode at once (not after its 10-minute expiry),
            // as an operator sees a DataNode that went away.
            if (stopped == null) {
              DatanodeID id = cluster.getDataNodes().get(0).getDatanodeId();
              stopped = cluster.stopDataNode(0);
              cluster.setDataNodeDead(id);
            }
            PROTOCOL.println("MINIHDFS OK datanode stopped");
            break;
          case "datanode-start":
            if (stopped != null) {
              cluster.restartDataNode(stopped, true);
              stopped = null;
              cluster.waitActive();
            }
            PROTOCOL.println("MINIHDFS OK datanode running");
            break;
          case "groups":
            PROTOCOL.println("MINIHDFS OK groups " + groupsOf(conf, fsUri, words));
            break;
          case "refresh-user-groups":
            refreshUserGroups(conf, fsUri);
            PROTOCOL.println("MINIHDFS OK refreshed");
            break;
          case "mktree":
            long count = mktree(conf, fsUri, words);
            PROTOCOL.println("MINIHDFS OK mktree " + count);
            break;
          default:
            PROTOCOL.println("MINIHDFS ERR unknown command " + words[0]);
        }
      } catch (Exception e) {
        // Remote exceptions carry the server's stack trace in their message; keep line one.
        String message = e.toString();
        int newline = message.indexOf('\n');
        PROTOCOL.println("MINIHDFS ERR " + (newline < 0 ? message : message.substring(0, newline)));
      }
      PROTOCOL.flush();
    }
  }

  /**
   * Creates ROOT/dNNNNN/fNNNNN empty files as USER over RPC; far faster than two WebHDFS
   * round trips a file, which is what makes a 10,000-file benchmark tree cheap to build.
   */
  private static long mktree(Configuration base, String fsUri, String[] words) throws Exception {
    if (words.length != 7) {
      throw new IllegalArgumentException(
          "mktree USER ROOT DIRS FILES_PER_DIR DIR_MODE FILE_MODE");
    }
    String user = words[1];
    Path root = new Path(words[2]);
    int dirs = Integer.parseInt(words[3]);
    int filesPerDir = Integer.parseInt(words[4]);
    FsPermission dirMode = new FsPermission(Short.parseShort(words[5], 8));
    FsPermission fileMode = new FsPermission(Short.parseShort(words[6], 8));
    Configuration conf = new Configuration(base);
    // Modes are explicit; a client-side umask would silently narrow them.
    conf.set("fs.permissions.umask-mask", "000");
    AtomicLong created = new AtomicLong();
    try (FileSystem fs = FileSystem.newInstance(URI.create(fsUri), conf, user)) {
      fs.mkdirs(root, dirMode);
      fs.setPermission(root, dirMode);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<?>> tasks = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
          Path dir = new Path(root, String.format("d%05d", d));
          tasks.add(
              pool.submit(
                  () -> {
                    fs.mkdirs(dir, dirMode);
                    for (int f = 0; f < filesPerDir; f++) {
                      Path file = new Path(dir, String.format("f%05d", f));
                      fs.create(file, fileMode, false, 4096, (short) 1, 1L << 20, null).close();
                      created.incrementAndGet();
                    }
                    return null;
                  }));
        }
        for (Future<?> task : tasks) {
          task.get();
        }
      } finally {
        pool.shutdownNow();
      }
    }
    return created.get();
  }

  /** A client configuration of this cluster (the admin tools read the NameNode from it). */
  private static Configuration clientConf(Configuration base, String fsUri) {
    Configuration conf = new Configuration(base);
    conf.set("fs.defaultFS", fsUri);
    return conf;
  }

  /** {@code hdfs groups USER}: what the NameNode's group mapping answers, as a JSON array. */
  private static String groupsOf(Configuration base, String fsUri, String[] words)
      throws IOException {
    if (words.length != 2) {
      throw new IllegalArgumentException("groups USER");
    }
    Configuration conf = clientConf(base, fsUri);
    GetUserMappingsProtocol rpc =
        NameNodeProxies.createProxy(conf, URI.create(fsUri), GetUserMappingsProtocol.class)
            .getProxy();
    StringBuilder json = new StringBuilder("[");
    for (String group : rpc.getGroupsForUser(words[1])) {
      json.append(json.length() > 1 ? ", " : "").append('"').append(jsonEscape(group)).append('"');
    }
    return json.append(']').toString();
  }

  /** {@code hdfs dfsadmin -refreshUserToGroupsMappings}, as the JVM's user (the superuser). */
  private static void refreshUserGroups(Configuration base, String fsUri) throws IOException {
    int code = new DFSAdmin(clientConf(base, fsUri)).refreshUserToGroupsMappings();
    if (code != 0) {
      throw new IOException("refreshUserToGroupsMappings returned " + code);
    }
  }

  private static String jsonEscape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
