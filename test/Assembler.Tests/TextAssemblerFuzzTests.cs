// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Asm.Tests;

/// <summary>Random statements from a token alphabet: each is assembled or rejected with an <see cref="AssemblyException"/>.</summary>
public sealed class TextAssemblerFuzzTests
{
    private const int Seed = 20_240_611;
    private const int Inputs = 20_000;

    private static readonly string[] s_tokens =
    [
        "mov", "movzx", "movsx", "lea", "push", "pop", "add", "sub", "adc", "sbb", "and", "or", "xor", "not", "neg", "inc", "dec", "cmp",
        "test", "shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "mul", "imul", "div", "idiv", "jmp", "jne", "je", "call", "ret", "nop",
        "xchg", "cmove", "setne", "in", "out", "rep", "repe", "repne", "lock", "movsb", "stosq", "lodsd", "cmpsw", "scasb", "insb", "outsd",
        "int3", "int", "hlt", "db", "dw", "dd", "dq", "equ", "align", "movx", "cr3", "fs",
        "rax", "eax", "ax", "al", "ah", "rbx", "ecx", "cl", "dx", "dl", "rsp", "rsi", "rdi", "r8", "r12d", "r15b", "rip", "rel",
        "byte", "word", "dword", "qword", "ptr",
        "0", "1", "-1", "5", "8", "0x80", "0x100", "0xff", "0x7fffffff", "0x80000000", "0xffffffffffffffff", "99999999999999999999", "10h",
        "0b101", "'a'", "\"s;t\"", "$", "l1", "l1:", "l2:", "x",
        ",", ",", "[", "]", "+", "-", "*", "/", ":", ";", ";", "(", ")", "\"", "'", "#", "<<", ">>", "~", "&", "|", "\n", "\\",
    ];

    [Test]
    public void Assemble_RandomTokenStrings_AssembledOrAssemblyException()
    {
        // Arrange
        var random = new Random(Seed);
        var inputs = new List<string>(Inputs);
        for (int i = 0; i < Inputs; i++)
        {
            var sb = new StringBuilder();
            int count = random.Next(1, 10);
            for (int t = 0; t < count; t++)
            {
                sb.Append(s_tokens[random.Next(s_tokens.Length)]).Append(random.Next(3) == 0 ? string.Empty : " ");
            }

            inputs.Add(sb.ToString());
        }

        var unexpected = new List<string>();
        int assembled = 0;

        // Act
        var run = Task.Run(() =>
        {
            foreach (string input in inputs)
            {
                try
                {
                    _ = TextAssembler.Assemble(input, 0x1000, 64);
                    assembled++;
                }
                catch (AssemblyException)
                {
                }
#pragma warning disable CA1031 // The point of the test: any other exception is a finding.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    unexpected.Add($"{input.ReplaceLineEndings("\\n")} -> {ex.GetType().Name}: {ex.Message}");
                }
            }
        });

        // Assert
        Assert.That(run.Wait(TimeSpan.FromMinutes(3)), Is.True, "no hang");
        Assert.That(unexpected, Is.Empty);
        Assert.That(assembled, Is.GreaterThan(Inputs / 100), "the alphabet yields some valid statements");
        TestContext.Out.WriteLine($"{assembled} of {Inputs} inputs assembled");
    }
}
