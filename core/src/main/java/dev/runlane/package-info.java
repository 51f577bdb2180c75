@NullMarked
package dev.runlane;

import org.jspecify.annotations.NullMarked;
