// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    private const ulong Pattern = 0x1122334455667788;

    [TestCase("rax", Pattern)]
    [TestCase("eax", 0x55667788UL)]
    [TestCase("ax", 0x7788UL)]
    [TestCase("ah", 0x77UL)]
    [TestCase("al", 0x88UL)]
    public void Run_SubRegisterRead_ExtractsBits(string name, ulong expected)
    {
        TestScriptTarget target = Target();
        target[ScriptRegister.Rax] = Pattern;
        Assert.That(Eval($"@{name}", target), Is.EqualTo(expected));
        Assert.That(Eval(name, target), Is.EqualTo(expected), "bare register names are registers too");
    }

    [TestCase("eax", ScriptRegister.Rax, 0x11223344AAAAAAAAUL)]
    [TestCase("ax", ScriptRegister.Rax, 0x112233445566AAAAUL)]
    [TestCase("ah", ScriptRegister.Rax, 0x112233445566AA88UL)]
    [TestCase("al", ScriptRegister.Rax, 0x11223344556677AAUL)]
    [TestCase("r8d", ScriptRegister.R8, 0x11223344AAAAAAAAUL)]
    [TestCase("r8w", ScriptRegister.R8, 0x112233445566AAAAUL)]
    [TestCase("r8h", ScriptRegister.R8, 0x112233445566AA88UL)]
    [TestCase("r8l", ScriptRegister.R8, 0x11223344556677AAUL)]
    [TestCase("spl", ScriptRegister.Rsp, 0x11223344556677AAUL)]
    [TestCase("dil", ScriptRegister.Rdi, 0x11223344556677AAUL)]
    [TestCase("eip", ScriptRegister.Rip, 0x11223344AAAAAAAAUL)]
    [TestCase("flags", ScriptRegister.Rflags, 0x112233445566AAAAUL)]
    public void Run_SubRegisterWrite_PreservesOtherBits(string name, ScriptRegister full, ulong expected)
    {
        // Arrange
        TestScriptTarget target = Target();
        target[full] = Pattern;

        // Act
        ScriptRunResult result = Run($"@{name} = 0xAAAAAAAAAAAAAAAA;", target);

        // Assert (spec 6.3: writing @eax does not clear bits 63:32)
        Assert.That(result.Success, Is.True, result.Error);
        Assert.That(target[full], Is.EqualTo(expected));
    }

    [Test]
    public void Run_FlagBits_ReadAndWriteOneBit()
    {
        TestScriptTarget target = Target();
        target[ScriptRegister.Rflags] = 0x202;
        Assert.That(Last("test_statement(@if); @zf = 1; @cf = 1; @iopl = 3; @if = 0; test_statement(@zf + @iopl);", target), Is.EqualTo(4UL));
        Assert.That(target[ScriptRegister.Rflags], Is.EqualTo(0x3043UL));
        Assert.That(target.TestValues[0], Is.EqualTo(1UL));
    }

    [Test]
    public void Run_RegisterAssignments_CompoundAndChained()
    {
        TestScriptTarget target = Target();
        Last("@rax = @rbx = 5; @rcx += 3; @rcx <<= 1; @rdx = @rax * @rcx; test_statement(@rdx);", target);
        Assert.That(target[ScriptRegister.Rbx], Is.EqualTo(5UL));
        Assert.That(target[ScriptRegister.Rcx], Is.EqualTo(6UL));
        Assert.That(target[ScriptRegister.Rdx], Is.EqualTo(0x1EUL));
    }

    [Test]
    public void Run_ReadOnlyRegisterWrite_FailsNamingRegister()
    {
        TestScriptTarget target = Target();
        target.ReadOnlyRegisters.Add(ScriptRegister.Cr0);
        Assert.That(RunError("@cr0 = 1;", target), Does.Contain("@cr0"));
    }

    [Test]
    public void Compile_UnknownOrUpperCaseRegister_Throws()
    {
        Assert.That(CompileError("x = @RAX;").Cause, Does.Contain("@RAX"));
        Assert.That(CompileError("x = @rzx;").Cause, Does.Contain("not a register"));
    }

    [Test]
    public void Compile_IncrementOfRegister_Throws()
    {
        Assert.That(CompileError("@rax++;").Cause, Does.Contain("@rax -= 1").Or.Contain("@rax += 1"));
        Assert.That(CompileError("for (; 1; @rax--) { }").Cause, Does.Contain("variable"));
    }

    [Test]
    public void ScriptRegisterInfo_EveryRegister_HasUniqueNameAndFullRegister()
    {
        ScriptRegister[] all = Enum.GetValues<ScriptRegister>().Where(static r => r != ScriptRegister.None).ToArray();
        string[] names = all.Select(ScriptRegisterInfo.NameOf).ToArray();
        Assert.That(names, Is.Unique);
        foreach (ScriptRegister register in all)
        {
            ScriptRegisterInfo info = ScriptRegisterInfo.Of(register);
            Assert.That(ScriptRegisterInfo.Of(info.Full).IsFull, Is.True, register.ToString());
            Assert.That(info.Shift + info.Width, Is.LessThanOrEqualTo(64), register.ToString());
            Assert.That(ScriptRegisterInfo.TryParse(ScriptRegisterInfo.NameOf(register), out ScriptRegister parsed) && parsed == register, Is.True);
        }

        Assert.That(all.Length, Is.EqualTo(120), "spec 6.3 names 120 registers and views");
    }
}
