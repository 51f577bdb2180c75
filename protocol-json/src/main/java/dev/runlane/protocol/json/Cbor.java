package dev.runlane.protocol.json;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;

/**
 * The CBOR side of {@link JsonWireCodec}, in a class of its own so that the optional {@code
 * jackson-dataformat-cbor} is loaded only by a codec built with {@link JsonWireCodec.Builder#cbor()}.
 */
final class Cbor {
  private Cbor() {}

  static ObjectMapper mapper() {
    return new CBORMapper();
  }

  static boolean isCbor(ObjectMapper m) {
    return m.getFactory() instanceof CBORFactory;
  }

  static ObjectMapper reader(StreamReadConstraints limits) {
    return CBORMapper.builder(CBORFactory.builder().streamReadConstraints(limits).build())
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .build();
  }
}
