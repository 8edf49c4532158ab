package io.immuta.hive;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.conf.HiveConf.ConfVars;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TUGIBasedProcessor;
import org.apache.hadoop.hive.thrift.TUGIContainingTransport;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;

/**
 * A standalone Hive 2.3 metastore (Thrift) for tests, built only from the jars pyspark ships.
 *
 * <p>Why not {@code HiveMetaStore.main}: Hive 2.3 binds its Thrift socket to every interface,
 * and the tests may listen on 127.0.0.1 only. This wires the same pieces the stock server uses
 * (a retrying HMS handler behind {@link TUGIBasedProcessor}, so a client's {@code set_ugi} makes
 * file-system work run as that client's user and HDFS checks it) on a loopback socket.
 *
 * <p>Arguments: {@code DERBY_DIR WAREHOUSE_URI [PORT]}. Prints {@code METASTORE READY {json}}
 * once serving; stops when stdin closes or says {@code stop}, so it cannot outlive its parent.
 */
public final class MetastoreLauncher {
    private static final String PREFIX = "METASTORE ";

    private MetastoreLauncher() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: MetastoreLauncher DERBY_DIR WAREHOUSE_URI [PORT]");
            System.exit(2);
        }
        String derby = args[0];
        String warehouse = args[1];
        int port = args.length > 2 ? Integer.parseInt(args[2]) : 0;

        HiveConf conf = new HiveConf();
        conf.setVar(ConfVars.METASTORECONNECTURLKEY, "jdbc:derby:;databaseName=" + derby + ";create=true");
        conf.setVar(ConfVars.METASTORE_CONNECTION_DRIVER, "org.apache.derby.jdbc.EmbeddedDriver");
        conf.setVar(ConfVars.METASTOREWAREHOUSE, warehouse);
        conf.setBoolVar(ConfVars.METASTORE_SCHEMA_VERIFICATION, false);
        conf.setBoolVar(ConfVars.METASTORE_AUTO_CREATE_ALL, true);
        conf.setBoolVar(ConfVars.METASTORE_EXECUTE_SET_UGI, true);
        conf.set("datanucleus.schema.autoCreateAll", "true");
        // pyspark ships HikariCP, not BoneCP (Hive 2.3's default pool for DataNucleus and the transaction handler).
        conf.setVar(ConfVars.METASTORE_CONNECTION_POOLING_TYPE, "HikariCP");
        // No file-system cache across users: each client's work runs as that user (TUGIBasedProcessor).
        conf.setBoolean("fs.hdfs.impl.disable.cache", true);

        HiveMetaStore.HMSHandler base = new HiveMetaStore.HMSHandler("immuta-test-metastore", conf, false);
        IHMSHandler handler = HiveMetaStore.newRetryingHMSHandler(base, conf);
        TUGIBasedProcessor<IHMSHandler> processor = new TUGIBasedProcessor<>(handler);
        TServerSocket socket = new TServerSocket(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        int bound = socket.getServerSocket().getLocalPort();
        TThreadPoolServer.Args serverArgs = new TThreadPoolServer.Args(socket)
                .processor(processor)
                .transportFactory(new TUGIContainingTransport.Factory())
                .protocolFactory(new TBinaryProtocol.Factory())
                .inputProtocolFactory(new TBinaryProtocol.Factory(true, true, -1, -1))
                .minWorkerThreads(4)
                .maxWorkerThreads(64);
        TServer server = new TThreadPoolServer(serverArgs);
        Thread serving = new Thread(server::serve, "metastore-thrift");
        serving.setDaemon(true);
        serving.start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (!server.isServing()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("the Thrift server did not start serving in 60 s");
            }
            Thread.sleep(20);
        }
        say("READY {\"uri\": \"thrift://127.0.0.1:" + bound + "\", \"port\": " + bound + "}");

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.trim().equals("stop")) {
                break;
            }
            say("ERR unknown command: " + line.trim());
        }
        server.stop();
        say("STOPPED");
        System.exit(0);
    }

    private static void say(String message) {
        System.out.println(PREFIX + message);
        System.out.flush();
    }
}
