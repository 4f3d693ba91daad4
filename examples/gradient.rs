//! The gradient example from the README, compiled with the examples so that it stays true.
//!
//!     cargo run --example gradient

use sigmagrad::{cpu, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // --- as in README.md ---
    let x = Tensor::from_vec(vec![0.5f64, -1.0, 2.0], &[3], &cpu())?.requires_grad();
    let y = x.mul(&x.tanh()?)?.sum_all()?; // y = sum_i x_i tanh(x_i)
    let grads = y.backward()?; // one reverse pass
    let dy_dx = grads.get(&x).ok_or("x did not reach y")?.to_vec::<f64>()?;
    // --- end ---

    // d/dx (x tanh x) = tanh x + x (1 - tanh^2 x)
    for (x, g) in [0.5f64, -1.0, 2.0].iter().zip(&dy_dx) {
        let t = x.tanh();
        let exact = t + x * (1.0 - t * t);
        println!("x = {x:5.2}: dy/dx = {g:.12} (closed form {exact:.12})");
        if (g - exact).abs() > 1e-12 {
            return Err(format!("gradient {g} differs from {exact}").into());
        }
    }
    Ok(())
}
