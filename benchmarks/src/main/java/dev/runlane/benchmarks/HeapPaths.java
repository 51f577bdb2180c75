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
