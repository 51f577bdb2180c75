package dev.runlane;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The answer of every operation that can be refused: {@link Ok} with what the caller needs, or
 * {@link Refused} with a stable {@link ErrorCode} and no side effect. Expected outcomes are values;
 * exceptions are kept for misuse.
 *
 * <pre>{@code
 * RunHandle run = runlane.startRun(StartRequest.of("s-1", "alice")).orElseThrow();
 *
 * Result<RunHandle> r = runlane.startRun(request);
 * if (r instanceof Result.Refused<RunHandle> no) {
 *   reply(no.code(), no.message());   // e.g. RUN_IN_PROGRESS
 * }
 * }</pre>
 *
 * <p><b>Thread safety:</b> immutable (the value is whatever the operation returned).
 *
 * @param <T> what a success carries
 */
public sealed interface Result<T> permits Result.Ok, Result.Refused {

  /** A success carrying {@code value}. */
  static <T> Result<T> ok(T value) {
    return new Ok<>(value);
  }

  /** A refusal with a stable code and a message for humans. */
  static <T> Result<T> refused(ErrorCode code, String message) {
    return new Refused<>(code, message);
  }

  /** Whether the operation succeeded. */
  boolean isOk();

  /**
   * The success value.
   *
   * @throws RefusedException carrying the code and message when refused
   */
  T orElseThrow();

  /** The success value, or empty when refused. */
  Optional<T> asOptional();

  /** The refusal, or empty on success. */
  Optional<Refused<T>> refusal();

  /** The refusal's code, or empty on success. */
  default Optional<ErrorCode> refusalCode() {
    return refusal().map(Refused::code);
  }

  /** This result with its success value mapped; a refusal stays the same refusal. */
  <U> Result<U> map(Function<? super T, ? extends U> f);

  /**
   * A success.
   *
   * @param value what the operation produced
   * @param <T> its type
   */
  record Ok<T>(T value) implements Result<T> {
    public Ok {
      Objects.requireNonNull(value, "value");
    }

    @Override
    public boolean isOk() {
      return true;
    }

    @Override
    public T orElseThrow() {
      return value;
    }

    @Override
    public Optional<T> asOptional() {
      return Optional.of(value);
    }

    @Override
    public Optional<Refused<T>> refusal() {
      return Optional.empty();
    }

    @Override
    public <U> Result<U> map(Function<? super T, ? extends U> f) {
      return new Ok<>(f.apply(value));
    }
  }

  /**
   * A refusal: nothing happened. The same type for every operation.
   *
   * @param code the stable code (see {@code docs/reference/error-codes.md})
   * @param message a human-readable detail; clients switch on the code, never on this
   * @param <T> the success type the operation would have returned
   */
  record Refused<T>(ErrorCode code, String message) implements Result<T> {
    public Refused {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }

    @Override
    public boolean isOk() {
      return false;
    }

    @Override
    public T orElseThrow() {
      throw new RefusedException(code, message);
    }

    @Override
    public Optional<T> asOptional() {
      return Optional.empty();
    }

    @Override
    public Optional<Refused<T>> refusal() {
      return Optional.of(this);
    }

    @Override
    public <U> Result<U> map(Function<? super T, ? extends U> f) {
      return new Refused<>(code, message);
    }

    /** This refusal, typed for another operation's result. */
    public <U> Refused<U> cast() {
      return new Refused<>(code, message);
    }
  }
}
