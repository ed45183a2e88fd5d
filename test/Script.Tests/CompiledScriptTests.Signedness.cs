// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

/// <summary>
/// Whether / % >> and comparisons are signed follows C's usual conversions of the operands' types, as in HyperDbg 0.23
/// (script-engine.c GetTypedBinaryOpcode, ScriptEngineEval.c ScriptEngineExecuteTypedBinary): literals, registers and
/// pseudo-registers are signed <c>long</c>; an undeclared variable or global is <c>unsigned long long</c>; declared
/// variables have their type. Each expected value is what HyperDbg's evaluator gives for the script.
/// </summary>
public sealed partial class CompiledScriptTests
{
    [TestCase("x = -1; if (x < 0) { test_statement(1); } else { test_statement(0); }", 0UL, Description = "undeclared: unsigned")]
    [TestCase("int z = -1; if (z < 0) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase("@rax = -1; if (@rax < 0) { test_statement(1); } else { test_statement(0); }", 1UL, Description = "registers are signed")]
    [TestCase("x = -8; test_statement(x >> 1);", 0x7FFF_FFFF_FFFF_FFFCUL)]
    [TestCase("x = -8; test_statement(x / 2);", 0x7FFF_FFFF_FFFF_FFFCUL)]
    [TestCase("long z = -8; z = z / 2; test_statement(z);", 0xFFFF_FFFF_FFFF_FFFCUL)]
    [TestCase("unsigned int z = 5; int w = -1; if (w < z) { test_statement(1); } else { test_statement(0); }", 0UL, Description = "int converts to unsigned int")]
    [TestCase("int w = -1; long v = 5; if (w < v) { test_statement(1); } else { test_statement(0); }", 1UL)]
    [TestCase(".g = -1; if (.g > 5) { test_statement(1); } else { test_statement(0); }", 1UL, Description = "globals are unsigned")]
    [TestCase("x = 5; if (x > -1) { test_statement(1); } else { test_statement(0); }", 0UL, Description = "-1 converts to unsigned")]
    [TestCase("x = 7; test_statement(x % -2);", 7UL)]
    [TestCase("test_statement(-7 % 2);", ulong.MaxValue)]
    public void Run_OperatorOnTypedOperands_IsSignedAsCsConversionsSay(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("test_statement(1 << 0n64);", "'<<': shift count 0x40 is not below 64")]
    [TestCase("test_statement(1 >> -1);", "'>>': shift count 0xffffffffffffffff is not below 64")]
    [TestCase("int n = 1; int k = 0n40; test_statement(n << k);", "'<<': shift count 0x28 is not below 32")]
    [TestCase("test_statement(0x8000000000000000 / -1);", "'/': the quotient does not fit in 64 bits")]
    [TestCase("test_statement(-5 % 0);", "'%': division by zero")]
    public void Run_ShiftOrDivisionHyperDbgRefuses_IsARuntimeError(string source, string error)
    {
        Assert.That(RunError(source), Is.EqualTo(error));
    }
}
