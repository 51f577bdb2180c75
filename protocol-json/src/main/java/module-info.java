import org.jspecify.annotations.NullMarked;

/** Runlane's JSON wire protocol ({@code docs/reference/protocol.md}) as a codec, on Jackson. */
@NullMarked
module dev.runlane.protocol.json {
  requires transitive dev.runlane;
  requires static transitive org.jspecify;
  requires com.fasterxml.jackson.core;
  requires com.fasterxml.jackson.databind;
  requires static com.fasterxml.jackson.dataformat.cbor; // only for JsonWireCodec.Builder#cbor()

  exports dev.runlane.protocol.json;
}
