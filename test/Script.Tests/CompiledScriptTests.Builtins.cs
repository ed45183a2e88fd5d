// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    private static TestScriptTarget TargetWithPattern()
    {
        TestScriptTarget target = Target();
        target.Poke(Ram, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
        return target;
    }

    [TestCase("poi", 0x8877665544332211UL)]
    [TestCase("dq", 0x8877665544332211UL)]
    [TestCase("dd", 0x44332211UL)]
    [TestCase("dw", 0x2211UL)]
    [TestCase("db", 0x11UL)]
    [TestCase("hi", 0x4433UL)]
    [TestCase("low", 0x2211UL)]
    public void Run_ReadFunction_ReadsVirtualMemory(string function, ulong expected)
    {
        Assert.That(Eval($"{function}(0x{Ram:x})", TargetWithPattern()), Is.EqualTo(expected));
    }

    [TestCase("poi_pa", 0x8877665544332211UL)]
    [TestCase("dq_pa", 0x8877665544332211UL)]
    [TestCase("dd_pa", 0x44332211UL)]
    [TestCase("dw_pa", 0x2211UL)]
    [TestCase("db_pa", 0x11UL)]
    [TestCase("hi_pa", 0x4433UL)]
    [TestCase("low_pa", 0x2211UL)]
    public void Run_PhysicalReadFunction_ReadsPhysicalMemory(string function, ulong expected)
    {
        TestScriptTarget target = TargetWithPattern();
        ulong physical = target.VirtualToPhysical(Ram);
        Assert.That(Eval($"{function}(0x{physical:x})", target), Is.EqualTo(expected));
    }

    [Test]
    public void Run_Dereference_ReadsAndWritesEightBytes()
    {
        TestScriptTarget target = TargetWithPattern();
        Assert.That(Last($"p = 0x{Ram:x}; *p = *p + 1; *(p + 8) = 5; test_statement(poi(p + 8) + (*p & 0xFF));", target), Is.EqualTo(5UL + 0x12));
    }

    [TestCase("eb", 1, 0x99UL)]
    [TestCase("ed", 4, 0xAABBCCDDUL)]
    [TestCase("eq", 8, 0x0102030405060708UL)]
    public void Run_WriteFunction_WritesAndReturnsOne(string function, int size, ulong value)
    {
        // Arrange
        TestScriptTarget target = Target();

        // Act
        ulong result = Eval($"{function}(0x{Ram:x}, 0x{value:x})", target);

        // Assert
        Assert.That(result, Is.EqualTo(1UL));
        byte[] expected = BitConverter.GetBytes(value)[..size];
        Assert.That(target.Peek(Ram, size), Is.EqualTo(expected));
        Assert.That(target.Peek(Ram + (ulong)size, 1)[0], Is.Zero, "nothing beyond the size is written");
    }

    [TestCase("eb")]
    [TestCase("ed")]
    [TestCase("eq")]
    [TestCase("eb_pa")]
    [TestCase("ed_pa")]
    [TestCase("eq_pa")]
    public void Run_WriteFunctionOnBadAddress_ReturnsZeroAndContinues(string function)
    {
        Assert.That(Last($"test_statement({function}(0x{Unmapped:x}, 1)); test_statement(7);"), Is.EqualTo(7UL));
        Assert.That(Eval($"{function}(0x{Unmapped:x}, 1)"), Is.Zero);
    }

    [Test]
    public void Run_PhysicalWriteFunctions_WritePhysicalMemory()
    {
        TestScriptTarget target = Target();
        ulong pa = target.VirtualToPhysical(Ram);
        Last($"eb_pa(0x{pa:x}, 0x11); ed_pa(0x{pa + 4:x}, 0x22); eq_pa(0x{pa + 8:x}, 0x33); test_statement(1);", target);
        Assert.That(target.Peek(Ram, 16), Is.EqualTo(new byte[] { 0x11, 0, 0, 0, 0x22, 0, 0, 0, 0x33, 0, 0, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void Run_Memcpy_CopiesBytes()
    {
        TestScriptTarget target = TargetWithPattern();
        Last($"memcpy(0x{Ram + 0x100:x}, 0x{Ram:x}, 5); test_statement(1);", target);
        Assert.That(target.Peek(Ram + 0x100, 6), Is.EqualTo(new byte[] { 0x11, 0x22, 0x33, 0x44, 0x55, 0 }));
    }

    [Test]
    public void Run_MemcpyPa_CopiesPhysicalBytes()
    {
        TestScriptTarget target = TargetWithPattern();
        ulong pa = target.VirtualToPhysical(Ram);
        Last($"memcpy_pa(0x{pa + 0x200:x}, 0x{pa:x}, 2); test_statement(1);", target);
        Assert.That(target.Peek(Ram + 0x200, 3), Is.EqualTo(new byte[] { 0x11, 0x22, 0 }));
    }

    [TestCase("memcpy(0x10000, 0x10100, 0);", "length")]
    [TestCase("memcpy(0x10000, 0xDEAD0000, 4);", "cannot read")]
    [TestCase("memcpy(0xDEAD0000, 0x10000, 4);", "cannot write")]
    public void Run_MemcpyBadArguments_FailsNamingMemcpy(string source, string problem)
    {
        string error = RunError(source);
        Assert.That(error, Does.StartWith("memcpy: ").And.Contain(problem));
    }

    [Test]
    public void Run_CheckAddress_ReportsReadability()
    {
        Assert.That(Eval($"check_address(0x{Ram:x})"), Is.EqualTo(1UL));
        Assert.That(Eval($"check_address(0x{Unmapped:x})"), Is.Zero);
        Assert.That(Last("x = 1; test_statement(check_address(&x));"), Is.EqualTo(1UL));
    }

    [Test]
    public void Run_AddressTranslation_UsesTarget()
    {
        TestScriptTarget target = Target();
        ulong pa = target.VirtualToPhysical(Ram + 0x10);
        Assert.That(Eval($"virtual_to_physical(0x{Ram + 0x10:x})", target), Is.EqualTo(pa));
        Assert.That(Eval($"physical_to_virtual(0x{pa:x})", target), Is.EqualTo(Ram + 0x10));
        Assert.That(Eval($"virtual_to_physical(0x{Unmapped:x})", target), Is.Zero);
    }

    [Test]
    public void Run_StringFunctions_FollowC()
    {
        TestScriptTarget target = Target();
        target.Poke(Ram, "abc\0abd\0"u8);
        target.Poke(Ram + 0x20, "h\0i\0\0\0"u8);
        Assert.That(Eval($"strlen(0x{Ram:x})", target), Is.EqualTo(3UL));
        Assert.That(Eval("strlen(\"hello\")", target), Is.EqualTo(5UL));
        Assert.That(Eval($"wcslen(0x{Ram + 0x20:x})", target), Is.EqualTo(2UL));
        Assert.That(Eval("wcslen(L\"wide\")", target), Is.EqualTo(4UL));
        Assert.That(Eval($"strcmp(0x{Ram:x}, \"abc\")", target), Is.Zero);
        Assert.That(Eval($"strcmp(0x{Ram:x}, 0x{Ram + 4:x})", target), Is.EqualTo(ulong.MaxValue));
        Assert.That(Eval($"strcmp(0x{Ram + 4:x}, 0x{Ram:x})", target), Is.EqualTo(1UL));
        Assert.That(Eval($"strncmp(0x{Ram:x}, 0x{Ram + 4:x}, 2)", target), Is.Zero);
        Assert.That(Eval($"strncmp(0x{Ram:x}, 0x{Ram + 4:x}, 3)", target), Is.EqualTo(ulong.MaxValue));
        Assert.That(Eval($"wcscmp(0x{Ram + 0x20:x}, L\"hi\")", target), Is.Zero);
        Assert.That(Eval($"wcscmp(0x{Ram + 0x20:x}, L\"hj\")", target), Is.EqualTo(ulong.MaxValue));
        Assert.That(Eval($"wcsncmp(0x{Ram + 0x20:x}, L\"hj\", 1)", target), Is.Zero);
        Assert.That(Eval($"memcmp(0x{Ram:x}, \"abc\", 4)", target), Is.Zero, "memcmp compares the NUL too");
        Assert.That(Eval($"memcmp(0x{Ram:x}, 0x{Ram + 4:x}, 3)", target), Is.EqualTo(ulong.MaxValue));
    }

    [Test]
    public void Run_StrlenOfBadAddress_FailsNamingStrlen()
    {
        Assert.That(RunError($"x = strlen(0x{Unmapped:x});"), Does.StartWith("strlen: "));
    }

    [Test]
    public void Run_Interlocked_OnLocalsGlobalsAndMemory()
    {
        string source = $$"""
            x = 5;
            va = interlocked_exchange(&x, 7);
            vb = interlocked_exchange_add(&x, 3);
            vc = interlocked_increment(&x);
            vd = interlocked_decrement(&x);
            .g = 0x55;
            ve = interlocked_compare_exchange(&.g, 0x85, 0x55);
            vf = interlocked_compare_exchange(&.g, 1, 0x55);
            eq(0x{{Ram:x}}, 9);
            h = interlocked_increment(0x{{Ram:x}});
            test_statement(va); test_statement(vb); test_statement(vc); test_statement(vd); test_statement(x);
            test_statement(ve); test_statement(vf); test_statement(.g); test_statement(h);
            """;
        TestScriptTarget target = Target();
        Last(source, target);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 5, 7, 0xB, 0xA, 0xA, 0x55, 0x85, 0x85, 0xA }));
    }

    [Test]
    public void Run_InterlockedOnBadAddress_FailsNamingFunction()
    {
        Assert.That(RunError($"x = interlocked_increment(0x{Unmapped:x});"), Does.StartWith("interlocked_increment: "));
    }

    [Test]
    public void Run_Spinlock_LocksAndUnlocks()
    {
        Assert.That(Last("l = 0; spinlock_lock(&l); held = l; spinlock_unlock(&l); spinlock_lock_custom_wait(&.m, 10); test_statement(held + l + .m);"), Is.EqualTo(2UL));
    }

    [Test]
    public void Run_SpinlockHeldForever_EndsAtExecutionLimit()
    {
        string error = RunError("l = 1; spinlock_lock(&l);");
        Assert.That(error, Does.StartWith("spinlock_lock: ").And.Contain("not released"));
    }

    [Test]
    public void Run_DisassembleLen_DecodesWithIced()
    {
        TestScriptTarget target = Target();
        target.Poke(Ram, [0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8]);  // mov rax, imm64 (10 bytes in 64-bit mode)
        target.Poke(Ram + 0x40, [0xB8, 1, 2, 3, 4]);              // mov eax, imm32 (5 bytes)
        Assert.That(Eval($"disassemble_len(0x{Ram:x})", target), Is.EqualTo(10UL));
        Assert.That(Eval($"disassemble_len64(0x{Ram:x})", target), Is.EqualTo(10UL));
        Assert.That(Eval($"disassemble_len32(0x{Ram + 0x40:x})", target), Is.EqualTo(5UL));
        Assert.That(Eval($"disassemble_len(0x{Unmapped:x})", target), Is.Zero);
    }

    [Test]
    public void Run_Timing_UsesTargetCounter()
    {
        TestScriptTarget target = Target();
        target.Tsc = 100;
        Assert.That(Last("t1 = rdtsc(); t2 = rdtscp(); microsleep(1); test_statement(t2 - t1);", target), Is.EqualTo(1UL));
    }

    [Test]
    public void Run_NegNotReference_Compute()
    {
        Assert.That(Eval("neg(5)"), Is.EqualTo(unchecked((ulong)-5L)));
        Assert.That(Eval("not(0)"), Is.EqualTo(ulong.MaxValue));
        Assert.That(Last("x = 3; p = reference(x); *p = 4; if (p == &x) { test_statement(x + 1); }"), Is.EqualTo(5UL));
    }

    [Test]
    public void Run_EventFunctions_CallTarget()
    {
        // Arrange
        TestScriptTarget target = Target();
        target.KnownEvents.Add(1);
        target.KnownEvents.Add(2);

        // Act
        string output = Output("event_enable(1); event_disable(2); event_clear(2); event_sc(1); pause(); flush();", target);

        // Assert
        Assert.That(output, Is.Empty);
        Assert.That(target.EnabledEvents, Is.EquivalentTo(new ulong[] { 1 }));
        Assert.That(target.KnownEvents, Is.EquivalentTo(new ulong[] { 1 }));
        Assert.That(target.ShortCircuit, Is.True);
        Assert.That(target.PauseCount, Is.EqualTo(1));
        Assert.That(target.FlushCount, Is.EqualTo(1));
    }

    [Test]
    public void Run_EventFunctionWithUnknownId_ReportsAndContinues()
    {
        TestScriptTarget target = Target();
        string output = Output("event_enable(0x99); event_disable(0x98); event_clear(0x97); event_sc(0); test_statement(1);", target);
        Assert.That(target.Messages, Is.EqualTo(new[]
        {
            "event_enable: no event has id 0x99\n",
            "event_disable: no event has id 0x98\n",
            "event_clear: no event has id 0x97\n",
        }));
        Assert.That(output, Does.Not.Contain("failed"));
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 1 }));
        Assert.That(target.ShortCircuit, Is.False);
    }

    [Test]
    public void Run_Print_WritesLowerCaseHexLine()
    {
        Assert.That(Output("print(0xABCDEF0123); print(0);"), Is.EqualTo("abcdef0123\n0\n"));
    }

    [Test]
    public void Run_PseudoRegisters_ComeFromTargetAndContext()
    {
        // Arrange
        TestScriptTarget target = Target();
        target.ProcessId = 1;
        target.ThreadId = 2;
        target.CoreId = 3;
        target.ProcessObject = 4;
        target.ThreadObject = 5;
        target.Peb = 6;
        target.Teb = 7;
        target.InstructionPointer = 8;
        target.ProcessNameAddress = Ram;
        target.Poke(Ram, "demo.exe\0"u8);
        var context = new ScriptRunContext { Context = 0x3F8, Buffer = 0x9, EventId = 2, EventStage = 1 };
        string source = "test_statement($pid); test_statement($tid); test_statement($core); test_statement($proc); test_statement($thread);"
            + " test_statement($peb); test_statement($teb); test_statement($ip); test_statement($context); test_statement($buffer);"
            + " test_statement($event_id); test_statement($event_tag); test_statement($event_stage); printf(\"%s %s %s\", $pname, $time, $date);";

        // Act
        ScriptRunResult result = Run(source, target, context: context);

        // Assert
        Assert.That(result.Success, Is.True, result.Error);
        Assert.That(target.TestValues, Is.EqualTo(new ulong[] { 1, 2, 3, 4, 5, 6, 7, 8, 0x3F8, 9, 2, 0x1000002, 1 }));
        Assert.That(target.Output, Is.EqualTo("demo.exe 08:05:09.042 2026-11-24"));
    }

    [Test]
    public void Compile_PseudoRegisterAssignment_Throws()
    {
        Assert.That(CompileError("$context = 1;").Cause, Does.Contain("read-only"));
    }

    [Test]
    public void Run_SymbolToken_ResolvesAtCompileTime()
    {
        TestScriptTarget target = Target();
        target.AddSymbol("nt!KiSystemCall64", 0xFFFFF80000001000);
        Assert.That(Eval("nt!KiSystemCall64 + 1", target), Is.EqualTo(0xFFFFF80000001001UL));
        Assert.That(CompileError("x = nt!Missing;").Cause, Does.Contain("nt!Missing"));
    }

    [TestCase("poi(1, 2)")]
    [TestCase("eb(1)")]
    [TestCase("x = printf(\"a\");")]
    [TestCase("x = pause();")]
    [TestCase("x = reference(@rax);")]
    [TestCase("x = &5;")]
    [TestCase("x = missing_function(1);")]
    public void Compile_BadCall_Throws(string source)
    {
        string text = source.EndsWith(';') ? source : $"x = {source};";
        Assert.That(() => ScriptCompiler.Compile(text), Throws.TypeOf<ScriptCompileException>());
    }
}
