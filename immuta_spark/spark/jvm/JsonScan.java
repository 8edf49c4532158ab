// The scan of a parsed plan's JSON tree behind PlanInspector.describe (refs.py reads its lines).
package io.immutaspark;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.json4s.JArray;
import org.json4s.JBool;
import org.json4s.JDecimal;
import org.json4s.JDouble;
import org.json4s.JInt;
import org.json4s.JLong;
import org.json4s.JObject;
import org.json4s.JSet;
import org.json4s.JString;
import org.json4s.JValue;

import org.apache.spark.sql.catalyst.trees.TreeNode;

/**
 * refs.py's _scan_json over the JSON tree of toJSON(), node for node: TreeNode.jsonValue
 * (each node of the tree in pre-order: its class, its child count, then jsonFields) without
 * rendering it. Objects are read as Python's json.loads reads them (a repeated key keeps its
 * first place and its last value); a value Spark renders to nothing (JNothing) is absent.
 */
final class JsonScan {
    private static final Set<String> IDENTIFIER_NODES = Set.of(
        "UnresolvedRelation", "UnresolvedTable", "UnresolvedTableOrView", "UnresolvedView", "UnresolvedIdentifier");
    private static final String[] LOCATION_KEYS = {"location", "path", "locationUri"};

    private final String reserved;
    final Set<String> classes = new LinkedHashSet<>();
    final StringBuilder out = new StringBuilder();
    /** Whether a string anywhere in the tree holds the reserved prefix (lower-cased). */
    boolean usesReserved = false;

    JsonScan(String reserved) {
        this.reserved = reserved;
    }

    /** TreeNode.jsonValue: one object per node of the tree, in pre-order. */
    void node(TreeNode<?> tn) {
        Map<String, JValue> fields = new LinkedHashMap<>();
        fields.put("class", new JString(tn.getClass().getName()));
        fields.put("num-children", null);  // a number: nothing to scan
        scala.collection.Iterator<scala.Tuple2<String, JValue>> it = tn.jsonFields().iterator();
        while (it.hasNext()) {
            scala.Tuple2<String, JValue> f = it.next();
            if (f._2() != null && !isNothing(f._2())) fields.put(f._1(), f._2());
        }
        object(fields);
        scala.collection.Iterator<?> kids = tn.children().iterator();
        while (kids.hasNext()) node((TreeNode<?>) kids.next());
    }

    void value(JValue v) {
        if (v instanceof JString) {
            string(((JString) v).s());
        } else if (v instanceof JObject) {
            Map<String, JValue> fields = new LinkedHashMap<>();
            scala.collection.Iterator<scala.Tuple2<String, JValue>> it = ((JObject) v).obj().iterator();
            while (it.hasNext()) {
                scala.Tuple2<String, JValue> f = it.next();
                if (f._2() != null && !isNothing(f._2())) fields.put(f._1(), f._2());
            }
            object(fields);
        } else if (v instanceof JArray || v instanceof JSet) {
            scala.collection.Iterator<JValue> it =
                v instanceof JArray ? ((JArray) v).arr().iterator() : ((JSet) v).set().iterator();
            while (it.hasNext()) {
                JValue e = it.next();
                if (e != null && !isNothing(e)) value(e);
            }
        } else if (!(v instanceof JInt || v instanceof JLong || v instanceof JDouble || v instanceof JDecimal
                || v instanceof JBool || v == org.json4s.JNull$.MODULE$ || isNothing(v))) {
            // a kind of value this scan does not know could hold a name: refuse (fail closed)
            throw new IllegalStateException("unexpected JSON value in a parsed plan: " + v.getClass().getName());
        }
    }

    private void string(String s) {
        if (!reserved.isEmpty() && s.toLowerCase(Locale.ROOT).contains(reserved)) usesReserved = true;
    }

    private void object(Map<String, JValue> fields) {
        JValue cls = fields.get("class");
        if (cls instanceof JString) {
            String name = ((JString) cls).s();
            String simple = name.substring(name.lastIndexOf('.') + 1);
            classes.add(simple);
            JValue ident = fields.get("multipartIdentifier");
            if (!truthy(ident)) ident = fields.get("nameParts");
            boolean named = ident instanceof JString;
            if ((IDENTIFIER_NODES.contains(simple) || simple.equals("CacheTable") || simple.equals("UncacheTable"))
                    && named) {
                line('I', simple, ((JString) ident).s());
            } else if (simple.equals("UnresolvedFunction") && fields.get("nameParts") instanceof JString) {
                line('F', ((JString) fields.get("nameParts")).s(), null);
            }
            for (String key : LOCATION_KEYS) {
                JValue loc = fields.get(key);
                if (loc instanceof JString && !((JString) loc).s().isEmpty()) line('P', ((JString) loc).s(), null);
            }
        }
        for (JValue v : fields.values()) {
            if (v != null) value(v);
        }
    }

    private void line(char kind, String a, String b) {
        out.append(kind).append(PlanInspector.SEP).append(PlanInspector.esc(a));
        if (b != null) out.append(PlanInspector.SEP).append(PlanInspector.esc(b));
        out.append('\n');
    }

    private static boolean isNothing(JValue v) {
        return v == org.json4s.JNothing$.MODULE$;
    }

    /** Python's truth of the value json.loads would give (None when absent). */
    private static boolean truthy(JValue v) {
        if (v == null || isNothing(v) || v == org.json4s.JNull$.MODULE$) return false;
        if (v instanceof JString) return !((JString) v).s().isEmpty();
        if (v instanceof JObject) return !((JObject) v).obj().isEmpty();
        if (v instanceof JArray) return !((JArray) v).arr().isEmpty();
        if (v instanceof JBool) return ((JBool) v).value();
        if (v instanceof JInt) return ((JInt) v).num().signum() != 0;
        if (v instanceof JLong) return ((JLong) v).num() != 0;
        if (v instanceof JDouble) return ((JDouble) v).num() != 0.0;
        if (v instanceof JDecimal) return ((JDecimal) v).num().signum() != 0;
        return true;
    }
}
