import org.jspecify.annotations.NullMarked;

/**
 * The transport SPI: the contract a host implements for its sockets, and small helpers for
 * transport authors ({@code dev.runlane.transport.support}). Depends on nothing but JSpecify, whose
 * annotations are part of the contract (hence {@code transitive}) and needed only at compile time
 * (hence {@code static}).
 */
@NullMarked
module dev.runlane.transport {
  requires static transitive org.jspecify;

  exports dev.runlane.transport;
  exports dev.runlane.transport.support;
}
