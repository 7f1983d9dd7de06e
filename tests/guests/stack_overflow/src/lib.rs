//! Test guest `stack_overflow`: recurses without bound (each frame keeps a
//! 512-byte array alive across the call, so it is not a tail call and
//! cannot become a loop) until the stack is exhausted and the instance
//! traps.

use std::hint::black_box;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth.to_le_bytes()[0]; 512]);
    // Never true, but the compiler cannot know (and it silences the
    // unconditional-recursion lint).
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let below = recurse(depth + 1);
    below.wrapping_add(u64::from(black_box(frame)[511]))
}

#[plugin]
fn stack_overflow(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let depth = recurse(0);
    exchange.message_mut().set_header("depth", depth);
    Ok(exchange)
}
