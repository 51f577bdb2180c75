package dev.runlane.examples.chat;

import dev.runlane.Authorizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The chat example's rooms: a room is the session {@code room:<name>} that its members share. The
 * user who creates a room owns it and invites others by name; every member may prompt the agent,
 * follow the room's runs, abort them and answer their approvals, and nobody else may even see that
 * the room exists ({@link #authorizer()}). Membership is kept in memory (a demo; the conversation
 * itself is in {@link ChatHistory}).
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Rooms {
  /** The prefix of a room's session id. */
  public static final String PREFIX = "room:";

  /** Room names: like user names. */
  static final Pattern NAME = ChatServer.NAME;

  /** A room and its members (the owner first, then by name). */
  public record Room(String name, String owner, List<String> members) {
    /** The room's session id. */
    public String sessionId() {
      return PREFIX + name;
    }
  }

  /** The result of an invitation. */
  public enum Invite {
    /** The user is a member now (or was already). */
    OK,
    /** No such room for the inviting user (it does not exist, or they are not a member). */
    NOT_FOUND,
    /** Only the owner invites. */
    FORBIDDEN
  }

  private static final class State {
    final String owner;
    final Set<String> members = ConcurrentHashMap.newKeySet();

    State(String owner) {
      this.owner = owner;
      members.add(owner);
    }
  }

  private final ConcurrentHashMap<String, State> rooms = new ConcurrentHashMap<>();

  /** Creates a room owned by {@code owner}; false if the name is taken. */
  public boolean create(String room, String owner) {
    Objects.requireNonNull(room, "room");
    Objects.requireNonNull(owner, "owner");
    return rooms.putIfAbsent(room, new State(owner)) == null;
  }

  /** The owner of {@code room} adds {@code user} to it. */
  public Invite invite(String room, String by, String user) {
    State s = rooms.get(room);
    if (s == null || !s.members.contains(by)) {
      return Invite.NOT_FOUND;
    }
    if (!s.owner.equals(by)) {
      return Invite.FORBIDDEN;
    }
    s.members.add(user);
    return Invite.OK;
  }

  /** Whether {@code user} is a member of {@code room}. */
  public boolean isMember(String room, String user) {
    State s = rooms.get(room);
    return s != null && s.members.contains(user);
  }

  /** The room, if {@code user} is a member of it. */
  public @Nullable Room roomFor(String room, String user) {
    State s = rooms.get(room);
    return s == null || !s.members.contains(user) ? null : view(room, s);
  }

  /** The rooms {@code user} is a member of, by name. */
  public List<Room> roomsOf(String user) {
    List<Room> out = new ArrayList<>();
    rooms.forEach(
        (name, s) -> {
          if (s.members.contains(user)) {
            out.add(view(name, s));
          }
        });
    out.sort(Comparator.comparing(Room::name));
    return out;
  }

  /** The room name of a room session id, or null for any other session. */
  public static @Nullable String roomOf(String sessionId) {
    return sessionId.startsWith(PREFIX) ? sessionId.substring(PREFIX.length()) : null;
  }

  /**
   * The example's authorization: a user's own session {@code <name>/chat} and the rooms they are a
   * member of; everything else does not exist for them ({@link Authorizer.Decision#NOT_FOUND}, sent
   * as {@code SESSION_NOT_FOUND}), so a non-member can neither follow, prompt, abort nor approve.
   */
  public Authorizer authorizer() {
    return (principal, action, sessionId, owner) -> {
      if (sessionId.startsWith(principal + "/")) {
        return Authorizer.Decision.ALLOW;
      }
      String room = roomOf(sessionId);
      return room != null && isMember(room, principal) ? Authorizer.Decision.ALLOW : Authorizer.Decision.NOT_FOUND;
    };
  }

  private static Room view(String name, State s) {
    List<String> members = new ArrayList<>(s.members);
    members.remove(s.owner);
    members.sort(null);
    members.add(0, s.owner);
    return new Room(name, s.owner, List.copyOf(members));
  }
}
