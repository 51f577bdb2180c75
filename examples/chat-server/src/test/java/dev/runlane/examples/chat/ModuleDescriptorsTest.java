package dev.runlane.examples.chat;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.Runlane;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.tck.TransportPromisesKit;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.transport.Connection;
import dev.runlane.transport.jetty.JettyRunlaneWebSockets;
import java.io.File;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What a user who puts Runlane on the module path compiles and links against: each published
 * module's descriptor exports exactly its API packages, a consumer module compiles against the API
 * with nothing but {@code requires}, the engine parts stay out of reach (not even by reflection),
 * and the BOM lists every published module.
 *
 * <p>The build's own tests run on the class path ({@code useModulePath=false}); this test builds
 * module paths from the built modules (their {@code target/classes} or jars) and the Maven
 * repository's jars, so it checks the real descriptors whichever phase Maven ran.
 */
class ModuleDescriptorsTest {

  /** Module name -> a class in it, and the packages it must export (and nothing else). */
  record Published(String module, Class<?> anchor, Set<String> exports) {}

  /** Published artifacts on automatic-module dependencies (Spring, Micrometer): manifest names only. */
  static final Set<String> AUTOMATIC =
      Set.of("runlane-micrometer", "runlane-transport-spring", "runlane-transport-sse", "runlane-spring-boot-autoconfigure");

  static final List<Published> PUBLISHED =
      List.of(
          new Published(
              "dev.runlane.transport",
              Connection.class,
              Set.of("dev.runlane.transport", "dev.runlane.transport.support")),
          new Published(
              "dev.runlane",
              Runlane.class,
              Set.of("dev.runlane", "dev.runlane.codec", "dev.runlane.engine")),
          new Published(
              "dev.runlane.testkit", InMemoryTransport.class, Set.of("dev.runlane.testkit")),
          new Published(
              "dev.runlane.protocol.json",
              JsonWireCodec.class,
              Set.of("dev.runlane.protocol.json")),
          new Published(
              "dev.runlane.transport.jetty",
              JettyRunlaneWebSockets.class,
              Set.of("dev.runlane.transport.jetty")),
          new Published("dev.runlane.tck", TransportPromisesKit.class, Set.of("dev.runlane.tck")));

  /** Third-party jars the published modules require, picked from the test class path. */
  static final Pattern THIRD_PARTY =
      Pattern.compile(
          ".*[/\\\\](org[/\\\\]eclipse[/\\\\]jetty|org[/\\\\]jspecify|org[/\\\\]slf4j[/\\\\]slf4j-api"
              + "|com[/\\\\]fasterxml[/\\\\]jackson[/\\\\]core|org[/\\\\]junit[/\\\\]jupiter[/\\\\]junit-jupiter-api"
              + "|org[/\\\\]junit[/\\\\]platform[/\\\\]junit-platform-commons|org[/\\\\]opentest4j"
              + "|org[/\\\\]apiguardian)[/\\\\].*\\.jar");

  @Test
  void everyPublishedModuleExportsExactlyItsApiPackages() {
    for (Published p : PUBLISHED) {
      ModuleDescriptor d = descriptor(location(p.anchor()));
      assertEquals(p.module(), d.name(), "module name (users' requires) of " + p.anchor());
      assertFalse(d.isAutomatic(), p.module() + " must have a module-info, not a manifest name");
      assertFalse(d.isOpen(), p.module() + " must not be an open module");
      Set<String> exported =
          d.exports().stream()
              .filter(e -> !e.isQualified())
              .map(ModuleDescriptor.Exports::source)
              .collect(Collectors.toCollection(TreeSet::new));
      assertEquals(new TreeSet<>(p.exports()), exported, p.module() + " exports");
      assertTrue(
          d.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified),
          p.module() + " has no qualified exports");
      for (ModuleDescriptor.Opens o : d.opens()) {
        // The kit's package-private test classes are run by JUnit, by reflection; nothing else opens.
        assertEquals("dev.runlane.tck", p.module(), "only the kit opens a package: " + o);
        assertEquals(Set.of("org.junit.platform.commons"), o.targets(), "the kit opens to JUnit only");
      }
    }
  }

  @Test
  void aModulePathConsumerCompilesAgainstTheApiWithRequiresAlone(@TempDir Path dir)
      throws Exception {
    // The module declaration shown in docs/guides/embedding.md: requires of the two modules an
    // application names; the core API, the transport SPI, Jetty's server types and the nullness
    // annotations must all come along transitively.
    String moduleInfo = docsModuleDeclaration();
    List<String> out =
        compile(
            dir,
            moduleInfo,
            """
            package com.example.chat;

            import dev.runlane.Runlane;
            import dev.runlane.protocol.json.JsonWireCodec;
            import dev.runlane.transport.Connection;
            import dev.runlane.transport.jetty.JettyRunlaneWebSockets;
            import org.eclipse.jetty.server.Server;
            import org.jspecify.annotations.Nullable;

            public final class App {
              static @Nullable Connection last;

              public static Runlane runlane() {
                return Runlane.builder().codec(new JsonWireCodec()).build();
              }

              public static String describe(Server server) {
                return server + " " + JettyRunlaneWebSockets.randomConnectionId();
              }
            }
            """);
    assertEquals(
        List.of(),
        out,
        "the docs' consumer module compiles cleanly (-Werror) against the published modules:\n"
            + moduleInfo);
  }

  /** The {@code module com.example.chat} snippet of docs/guides/embedding.md. */
  static String docsModuleDeclaration() throws Exception {
    String guide = Files.readString(projectRoot().resolve("docs/guides/embedding.md"));
    int at = guide.indexOf("```java\nmodule com.example.chat {");
    assertTrue(at >= 0, "embedding.md shows the consumer's module declaration");
    int from = at + "```java\n".length();
    return guide.substring(from, guide.indexOf("```", from));
  }

  @Test
  void aModulePathConsumerCannotNameAnEnginePart(@TempDir Path dir) throws Exception {
    List<String> out =
        compile(
            dir,
            "module consumer { requires dev.runlane; }\n",
            """
            package consumer;

            public final class Reach {
              static Class<?> part = dev.runlane.Sessions.class;
            }
            """);
    assertTrue(
        out.stream().anyMatch(d -> d.startsWith("compiler.err.not.def.public.cant.access")),
        "an engine part is not API; javac said: " + out);
  }

  @Test
  void enginePartsStayClosedToReflectionOnTheModulePath() throws Exception {
    Class<?> onClassPath = Class.forName("dev.runlane.Sessions");
    assertFalse(Modifier.isPublic(onClassPath.getModifiers()), "Sessions is an engine part");
    // On the class path nothing stops deep reflection...
    assertTrue(onClassPath.getDeclaredConstructors()[0].trySetAccessible());

    // ...on the module path the core module's descriptor does: dev.runlane is exported, not opened.
    ModuleFinder finder =
        ModuleFinder.of(
            location(Connection.class),
            location(Runlane.class),
            location(org.slf4j.Logger.class));
    Configuration cf =
        ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(), Set.of("dev.runlane"));
    ModuleLayer layer =
        ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
    Module core = layer.findModule("dev.runlane").orElseThrow();
    assertTrue(core.isExported("dev.runlane"));
    assertFalse(core.isOpen("dev.runlane"), "the API package is exported, never opened");
    Class<?> part = Class.forName(core, "dev.runlane.Sessions");
    assertNotNull(part, "the engine part is in the module");
    assertNotSame(onClassPath, part, "loaded from the layer, not the class path");
    assertEquals(core, part.getModule());
    for (Constructor<?> c : part.getDeclaredConstructors()) {
      assertFalse(c.trySetAccessible(), "a module-path consumer cannot open up " + c);
    }
    Class<?> api = Class.forName(core, "dev.runlane.Runlane");
    assertTrue(Modifier.isPublic(api.getModifiers()));
  }

  @Test
  void theBomListsEveryPublishedModuleAtTheBuildVersion() throws Exception {
    Path root = projectRoot();
    Document parent = parse(root.resolve("pom.xml"));
    Document bom = parse(root.resolve("bom/pom.xml"));
    String version = text(parent.getDocumentElement(), "version");
    assertEquals(version, text(bom.getDocumentElement(), "version"), "runlane-bom's version");

    Map<String, String> listed = new LinkedHashMap<>();
    NodeList deps = bom.getElementsByTagName("dependency");
    for (int i = 0; i < deps.getLength(); i++) {
      Element dep = (Element) deps.item(i);
      assertEquals("dev.runlane", text(dep, "groupId"));
      listed.put(text(dep, "artifactId"), text(dep, "version"));
    }

    Set<String> published = new LinkedHashSet<>();
    NodeList modules = parent.getElementsByTagName("module");
    for (int i = 0; i < modules.getLength(); i++) {
      Path dir = root.resolve(modules.item(i).getTextContent().trim());
      Element pom = parse(dir.resolve("pom.xml")).getDocumentElement();
      boolean notPublished =
          "pom".equals(text(pom, "packaging")) || "true".equals(text(pom, "maven.deploy.skip"));
      if (notPublished) {
        continue;
      }
      String artifact = text(pom, "artifactId");
      published.add(artifact);
      assertEquals(
          "${project.version}",
          listed.get(artifact),
          artifact + " is published (no maven.deploy.skip), so bom/pom.xml must list it");
      if (Files.isDirectory(dir.resolve("src/main/java"))) {
        if (AUTOMATIC.contains(artifact)) {
          // built on Spring or Micrometer, which are automatic modules themselves: a module-info
          // would require them by names their authors do not promise; a stable manifest name instead
          assertTrue(
              Files.readString(dir.resolve("pom.xml")).contains("<Automatic-Module-Name>dev.runlane."),
              artifact + " stays an automatic module, so it needs a stable Automatic-Module-Name");
        } else {
          assertTrue(
              Files.exists(dir.resolve("src/main/java/module-info.java")),
              artifact + " is published, so it needs a module-info.java exporting only its API");
        }
      }
    }
    assertEquals(published, listed.keySet(), "the BOM lists exactly the published modules");
  }

  // ---------------------------------------------------------------------------------------------

  /** Compiles one module; returns javac's diagnostics as "code: message" (empty when clean). */
  static List<String> compile(Path dir, String moduleInfo, String source) throws Exception {
    Path src = dir.resolve("src");
    String pkg = source.lines().filter(l -> l.startsWith("package ")).findFirst().orElseThrow();
    String cls =
        source.lines()
            .filter(l -> l.startsWith("public final class "))
            .findFirst()
            .orElseThrow()
            .split(" ")[3];
    Path pkgDir = src.resolve(pkg.substring(8, pkg.length() - 1).replace('.', '/'));
    Files.createDirectories(pkgDir);
    Files.writeString(src.resolve("module-info.java"), moduleInfo);
    Files.writeString(pkgDir.resolve(cls + ".java"), source);

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertNotNull(javac, "tests run on a JDK");
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    List<String> args =
        new ArrayList<>(
            List.of(
                "-Xlint:all",
                "-Werror",
                "-d",
                dir.resolve("out").toString(),
                "--module-path",
                modulePath()));
    try (StandardJavaFileManager files = javac.getStandardFileManager(null, Locale.ROOT, null)) {
      javac
          .getTask(
              null,
              files,
              diagnostics,
              args,
              null,
              files.getJavaFileObjects(
                  src.resolve("module-info.java"), pkgDir.resolve(cls + ".java")))
          .call();
    }
    return diagnostics.getDiagnostics().stream()
        .map(d -> d.getCode() + ": " + d.getMessage(Locale.ROOT))
        .collect(Collectors.toList());
  }

  static String modulePath() {
    List<String> path = new ArrayList<>();
    for (Published p : PUBLISHED) {
      path.add(location(p.anchor()).toString());
    }
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (THIRD_PARTY.matcher(entry).matches()) {
        path.add(entry);
      }
    }
    return String.join(File.pathSeparator, path);
  }

  /** Where a class was loaded from: a module's {@code target/classes} or its jar. */
  static Path location(Class<?> c) {
    try {
      return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static ModuleDescriptor descriptor(Path location) {
    Set<ModuleReference> found = ModuleFinder.of(location).findAll();
    assertEquals(1, found.size(), "one module at " + location);
    return found.iterator().next().descriptor();
  }

  static Path projectRoot() throws Exception {
    Path dir = Path.of("").toAbsolutePath();
    for (int i = 0; i < 5 && dir != null; i++, dir = dir.getParent()) {
      Path pom = dir.resolve("pom.xml");
      if (Files.exists(pom)
          && "runlane-parent".equals(text(parse(pom).getDocumentElement(), "artifactId"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no runlane-parent pom above " + Path.of("").toAbsolutePath());
  }

  static Document parse(Path pom) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
  }

  /** The text of {@code parent}'s direct child {@code name}, or of the first such descendant. */
  static String text(Element parent, String name) {
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return e.getTextContent().trim();
      }
    }
    NodeList any = parent.getElementsByTagName(name);
    return any.getLength() == 0 ? "" : any.item(0).getTextContent().trim();
  }
}
