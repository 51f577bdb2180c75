package dev.runlane.benchmarks;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A diagnostic for the wire harness's memory figures: the shortest chain of fields from a root
 * object to an instance of a given class, found by walking fields reflectively (breadth first,
 * bounded). It answers "who keeps this per-connection object alive" where a class histogram only
 * counts it. JDK internals are only walked when the JVM opens them ({@code --add-opens}); fields it
 * cannot read are skipped, so a missing path proves nothing.
 *
 * <p><b>Thread safety:</b> not thread-safe; a one-off diagnostic.
 */
final class HeapPaths {
  private HeapPaths() {}

  /** The chain from {@code root} to the first instance of a class named {@code target}, or a note. */
  static String pathTo(Object root, String target, int maxObjects) {
    Map<Object, @Nullable Object[]> parent = new IdentityHashMap<>(); // object -> {parent, field}
    ArrayDeque<Object> queue = new ArrayDeque<>();
    parent.put(root, new Object[] {null, "root"});
    queue.add(root);
    while (!queue.isEmpty() && parent.size() < maxObjects) {
      Object o = queue.poll();
      if (o.getClass().getName().equals(target)) {
        List<String> chain = new ArrayList<>();
        for (Object x = o; x != null; ) {
          @Nullable Object[] link = Objects.requireNonNull(parent.get(x));
          chain.add(0, link[1] + ":" + x.getClass().getName());
          x = link[0];
        }
        return String.join(" -> ", chain);
      }
      Class<?> c = o.getClass();
      if (c.isArray()) {
        if (!c.getComponentType().isPrimitive()) {
          int n = Array.getLength(o);
          for (int i = 0; i < n; i++) {
            visit(Array.get(o, i), o, "[" + i + "]", parent, queue);
          }
        }
        continue;
      }
      for (; c != null; c = c.getSuperclass()) {
        for (Field f : c.getDeclaredFields()) {
          if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
            continue;
          }
          try {
            f.setAccessible(true);
            visit(f.get(o), o, c.getSimpleName() + "." + f.getName(), parent, queue);
          } catch (RuntimeException | IllegalAccessException e) {
            // not open to us: skipped
          }
        }
      }
    }
    return "none within " + parent.size() + " objects";
  }

  /**
   * Every object reachable from {@code root} through instance fields (statics, classes and threads
   * excluded), grouped by owner: an object of a Jetty, Runlane or JDK NIO class owns itself, any
   * other object (arrays, strings, JDK collections and atomics) belongs to the owner of the object
   * through which the breadth-first walk first reached it. Answers label -> {objects, bytes}, sizes
   * estimated from the field layout with compressed references (12-byte header, 8-byte alignment).
   */
  static Map<String, long[]> owners(Object root, int maxObjects, boolean byClass) {
    Map<Object, String> owner = new IdentityHashMap<>();
    Map<String, long[]> out = new java.util.TreeMap<>();
    ArrayDeque<Object> queue = new ArrayDeque<>();
    owner.put(root, label(root.getClass(), "root", byClass));
    queue.add(root);
    while (!queue.isEmpty() && owner.size() < maxObjects) {
      Object o = queue.poll();
      String mine = Objects.requireNonNull(owner.get(o));
      Class<?> c = o.getClass();
      long[] acc = out.computeIfAbsent(mine, k -> new long[2]);
      acc[0]++;
      acc[1] += size(o);
      if (c.isArray()) {
        if (!c.getComponentType().isPrimitive()) {
          int n = Array.getLength(o);
          for (int i = 0; i < n; i++) {
            walk(Array.get(o, i), mine, owner, queue, byClass);
          }
        }
        continue;
      }
      for (Field f : fields(c)) {
        if (f.getType().isPrimitive()) {
          continue;
        }
        try {
          walk(f.get(o), mine, owner, queue, byClass);
        } catch (RuntimeException | IllegalAccessException e) {
          // not open to us: skipped
        }
      }
    }
    return out;
  }

  private static void walk(
      @Nullable Object child,
      String parentOwner,
      Map<Object, String> owner,
      ArrayDeque<Object> queue,
      boolean byClass) {
    if (child == null || owner.containsKey(child) || child instanceof Class || child instanceof Thread
        || child instanceof ClassLoader) {
      return;
    }
    owner.put(child, label(child.getClass(), parentOwner, byClass));
    queue.add(child);
  }

  /**
   * The owner of an object of class {@code c} reached from {@code parent}'s owner: its group, or
   * with {@code byClass} its own class (without the package) for an owner class.
   */
  static String label(Class<?> c, String parent, boolean byClass) {
    String g = group(c);
    if (g == null) {
      return parent;
    }
    if (!byClass) {
      return g;
    }
    String n = c.getName();
    return g + ":" + n.substring(n.lastIndexOf('.') + 1).replaceAll("\\$\\$Lambda.*", "\\$Lambda");
  }

  /** The owner group of an owner class (Jetty, Runlane, JDK NIO), or null for any other class. */
  private static @Nullable String group(Class<?> c) {
    String n = c.getName();
    if (n.startsWith("dev.runlane.benchmarks.")) {
      return "harness";
    }
    if (n.startsWith("dev.runlane.transport.jetty.")) {
      return "Runlane Jetty adapter";
    }
    if (n.startsWith("dev.runlane.")) {
      return "Runlane core";
    }
    if (n.startsWith("org.eclipse.jetty.websocket.")) {
      return "Jetty WebSocket";
    }
    if (n.startsWith("org.eclipse.jetty.io.")) {
      return "Jetty I/O";
    }
    if (n.startsWith("org.eclipse.jetty.server.") || n.startsWith("org.eclipse.jetty.http.")) {
      return "Jetty HTTP";
    }
    if (n.startsWith("org.eclipse.jetty.")) {
      return "Jetty util";
    }
    if (n.startsWith("sun.nio.ch.")) {
      return "JDK socket channel";
    }
    return null;
  }

  private static final Map<Class<?>, Field[]> FIELDS = new java.util.HashMap<>();

  private static Field[] fields(Class<?> type) {
    Field[] cached = FIELDS.get(type);
    if (cached != null) {
      return cached;
    }
    List<Field> fs = new ArrayList<>();
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Field f : c.getDeclaredFields()) {
        if (!Modifier.isStatic(f.getModifiers()) && f.trySetAccessible()) {
          fs.add(f);
        }
      }
    }
    Field[] a = fs.toArray(new Field[0]);
    FIELDS.put(type, a);
    return a;
  }

  /** Shallow size estimate, compressed references. */
  static long size(Object o) {
    Class<?> c = o.getClass();
    long bytes;
    if (c.isArray()) {
      Class<?> t = c.getComponentType();
      bytes = 16 + (long) Array.getLength(o) * primitiveSize(t);
    } else {
      bytes = 12;
      for (Class<?> k = c; k != null; k = k.getSuperclass()) {
        for (Field f : k.getDeclaredFields()) {
          if (!Modifier.isStatic(f.getModifiers())) {
            bytes += primitiveSize(f.getType());
          }
        }
      }
    }
    return (bytes + 7) & ~7L;
  }

  private static int primitiveSize(Class<?> t) {
    if (t == long.class || t == double.class) {
      return 8;
    }
    if (t == int.class || t == float.class || !t.isPrimitive()) {
      return 4;
    }
    if (t == short.class || t == char.class) {
      return 2;
    }
    return 1;
  }

  private static void visit(
      @Nullable Object child,
      Object from,
      String via,
      Map<Object, @Nullable Object[]> parent,
      ArrayDeque<Object> queue) {
    if (child == null || parent.containsKey(child) || child instanceof Class || child instanceof Thread) {
      return;
    }
    parent.put(child, new Object[] {from, via});
    queue.add(child);
  }
}
