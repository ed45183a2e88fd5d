// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Asm.Tests;

/// <summary>Every statement of Data/RoundTrip.txt assembles to one instruction that Iced disassembles back to it.</summary>
public sealed class TextAssemblerRoundTripTests
{
    private const ulong Origin = 0x1000;
    private const string DataFile = "RoundTrip.txt";

    private static IEnumerable<TestCaseData> Statements()
    {
        string[] lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "Data", DataFile));
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                yield return new TestCaseData(line).SetName($"{DataFile}:{i + 1} {line}");
            }
        }
    }

    [Test]
    public void Table_CoversEveryFamily_AtLeast80Statements() => Assert.That(Statements().Count(), Is.GreaterThanOrEqualTo(80));

    [TestCaseSource(nameof(Statements))]
    public void Assemble_Statement_DisassemblesBackToItself(string statement)
    {
        // Arrange
        bool sized = Disassembly.HasSize(statement);

        // Act
        byte[] bytes = TextAssembler.Assemble(statement, Origin).Bytes;
        List<string> disassembly = Disassembly.Format(bytes, Origin);

        // Assert
        Assert.That(disassembly, Has.Count.EqualTo(1), $"{Convert.ToHexString(bytes)}: {string.Join(" | ", disassembly)}");
        Assert.That(Disassembly.Normalize(disassembly[0], keepSizes: sized), Is.EqualTo(Disassembly.Normalize(statement)), Convert.ToHexString(bytes));
    }
}
