// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Extension;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Tests;

public sealed class IoEventCommandTests
{
    private static EventRegistration Parse(string line, bool isIn = false)
    {
        Assert.That(Tokenizer.TryTokenize(line, out List<Token> tokens, out string? error), Is.True, error);
        return new IoEventCommand(isIn).Parse(tokens.Skip(1).ToList(), line);
    }

    [Test]
    public void Parse_NoOptions_HyperDbgDefaults()
    {
        EventRegistration r = Parse("!ioout");
        Assert.That((r.HasPort, r.HasPid, r.HasCore, r.Immediate, r.ShortCircuit, r.Stage), Is.EqualTo((false, false, false, true, false, EventStage.Pre)));
        Assert.That(r.Direction, Is.EqualTo(IoDirection.Out));
        Assert.That(Parse("!ioin", isIn: true).Direction, Is.EqualTo(IoDirection.In));
    }

    [Test]
    public void Parse_EveryOptionAnyOrderAnyCase()
    {
        EventRegistration r = Parse("!ioout STAGE all BUFFER 0n16 3f8 pid 0n7 Core 1 imm NO script { printf(\"%c\", @al); }");
        Assert.That((r.Port, r.Pid, r.Core, r.Immediate, r.Stage, r.BufferSize), Is.EqualTo((0x3F8u, 7u, 1u, false, EventStage.All, 16u)));
        Assert.That(r.Script, Is.EqualTo(" printf(\"%c\", @al); "));
        Assert.That(r.CommandText, Does.StartWith("!ioout STAGE all"));
    }

    [Test]
    public void Parse_HexCodeWithSpaces_RetAppended()
    {
        EventRegistration r = Parse("!ioout 80 code { 90 90 90 } condition {\\x48\\x31\\xc0}");
        Assert.That(r.Code.MachineCode.ToByteArray(), Is.EqualTo(new byte[] { 0x90, 0x90, 0x90, 0xC3 }));
        Assert.That(r.Condition.MachineCode.ToByteArray(), Is.EqualTo(new byte[] { 0x48, 0x31, 0xC0, 0xC3 }));
    }

    [Test]
    public void Parse_AsmCode_AssembledWithOneRet()
    {
        // Act
        EventRegistration r = Parse("!ioout 80 asm code { mov al, 0x42; ret }");

        // Assert
        Assert.That(r.Code.MachineCode.ToByteArray(), Is.EqualTo(new byte[] { 0xB0, 0x42, 0xC3 }));
        Assert.That(r.Code.IsAsm, Is.True);
    }

    [Test]
    public void Parse_AsmCondition_RetAppended()
    {
        EventRegistration r = Parse("!ioout 80 asm condition { xor eax, eax; inc eax }");
        Assert.That(r.Condition.MachineCode.ToByteArray(), Is.EqualTo(new byte[] { 0x31, 0xC0, 0xFF, 0xC0, 0xC3 }));
    }

    [Test]
    public void Parse_AsmAppliesOnlyToTheBlockItPrecedes()
    {
        // Act: the condition is asm, the code that follows is hex.
        EventRegistration r = Parse("!ioout 80 asm condition { xor eax, eax; l1: inc eax; cmp eax, 5; jne l1 } code { 90 }");

        // Assert
        Assert.That(r.Condition.MachineCode.ToByteArray(), Is.EqualTo(new byte[] { 0x31, 0xC0, 0xFF, 0xC0, 0x83, 0xF8, 0x05, 0x75, 0xF9, 0xC3 }));
        Assert.That(r.Code.MachineCode.ToByteArray(), Is.EqualTo(new byte[] { 0x90, 0xC3 }));
        Assert.That(r.Code.IsAsm, Is.False);
    }

    [Test]
    public void Parse_AsmJumpToTheEnd_KeepsItsRetBeforeTheAppendedOne()
    {
        EventRegistration r = Parse("!ioout 80 asm code { test al, al; jz done; ret; done: }");
        Assert.That(r.Code.MachineCode.ToByteArray(), Is.EqualTo(new byte[] { 0x84, 0xC0, 0x74, 0x01, 0xC3, 0xC3 }));
    }

    [TestCase("!ioout 80 asm code { mov al, 1; mov rax, rbx, rcx; ret }", "asm code: line 1, statement 2 'mov rax, rbx, rcx'")]
    [TestCase("!ioout 80 asm condition { movx al, 1 }", "asm condition: line 1, statement 1 'movx al, 1': unknown mnemonic 'movx'")]
    [TestCase("!ioout 80 asm code { jmp nowhere }", "undefined label 'nowhere'")]
    public void Parse_BadAsm_CommandExceptionNamingTheStatement(string line, string message) =>
        Assert.That(() => Parse(line), Throws.TypeOf<CommandException>().With.Message.Contains(message).And.Message.Contains("syntax: !ioout [Port]"));

    [Test]
    public void Parse_ScriptThatDoesNotCompile_RefusedWithLineColumnAndCaret()
    {
        CommandException ex = Assert.Throws<CommandException>(() => Parse("!ioout 80 script { x = 1;\n y = (2; }"))!;
        Assert.That(ex.Message, Does.StartWith("!ioout: the script does not compile: line 2, column").And.Contain("^"));
    }

    [Test]
    public void Parse_ScriptWithInclude_TheDebuggerReadsTheFileAndSendsItsText()
    {
        string file = Path.Combine(Path.GetTempPath(), $"hdr-include-{Guid.NewGuid():N}.ds");
        File.WriteAllText(file, "int twice(int v) { return v * 2; }\n");
        try
        {
            EventRegistration r = Parse($"!ioout 80 script {{ #include \"{file}\" x = twice(2); }}");

            Assert.That(r.ScriptIncludes[file], Is.EqualTo("int twice(int v) { return v * 2; }\n"));
            Assert.That(() => Parse("!ioout 80 script { #include \"/nonexistent/lib.ds\" }"), Throws.TypeOf<CommandException>().With.Message.Contains("cannot find \"/nonexistent/lib.ds\""));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Parse_ScriptWithSymbol_AcceptedForTheAgentToResolve()
    {
        Assert.That(Parse("!ioout 80 script { x = nt!ExAllocatePoolWithTag; }").Script, Does.Contain("nt!ExAllocatePoolWithTag"));
    }

    [Test]
    public void Parse_OutputNames_TrimmedAndLimited()
    {
        Assert.That(Parse("!ioout output {a, b ,c}").Outputs, Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(() => Parse("!ioout output {a,b,c,d,e,f}"), Throws.TypeOf<CommandException>().With.Message.Contains("1 to 5"));
    }

    [TestCase("!ioout 10000", "port '10000'")]
    [TestCase("!ioout 3f8 80", "unknown parameter '80'")]
    [TestCase("!ioout ffffffffffffffffff", "port")]
    [TestCase("!ioout pid", "pid needs a value")]
    [TestCase("!ioout core x", "core 'x'")]
    [TestCase("!ioout imm maybe", "imm 'maybe'")]
    [TestCase("!ioout stage middle", "stage 'middle'")]
    [TestCase("!ioout sc on stage post", "sc on cannot be used with stage post")]
    [TestCase("!ioout sc on stage all", "stage all")]
    [TestCase("!ioout imm no output {x}", "imm no cannot be used with output")]
    [TestCase("!ioout buffer 10001", "buffer '10001'")]
    [TestCase("!ioout code {zz}", "not hex")]
    [TestCase("!ioout script", "script needs a { ... } block")]
    [TestCase("!ioout asm 80", "asm must come right before")]
    [TestCase("!ioout {3f8}", "unknown parameter '3f8'")]
    public void Parse_BadInput_NamesOptionValueAndShowsSyntax(string line, string message) =>
        Assert.That(() => Parse(line), Throws.TypeOf<CommandException>().With.Message.Contains(message).And.Message.Contains("syntax: !ioout [Port]"));

    [Test]
    public void Parse_ScriptFile_ReadsFileOrFails()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "printf(\"x\");");
        Assert.That(Parse($"!ioout script {{file:{path}}}").Script, Is.EqualTo("printf(\"x\");"));
        File.Delete(path);
        Assert.That(() => Parse($"!ioout script {{file:{path}}}"), Throws.TypeOf<CommandException>().With.Message.Contains("not found or is empty"));
    }
}
