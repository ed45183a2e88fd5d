// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Globalization;
using System.Reflection;
using HyperDbgRemote.Protocol.Internal;
using HyperDbgRemote.Protocol.Tests.Support;

namespace HyperDbgRemote.Protocol.Tests;

/// <summary>docs/protocol/serial.md against the code (STYLE 30): the constants table and the example frames.</summary>
public sealed class ProtocolConstantsTests
{
    private const string DocPath = "docs/protocol/serial.md";

    private static IEnumerable<TestCaseData> ConstantRows() =>
        TableRows("## Constants").Select(r => new TestCaseData(r.Cells[0].Trim('`'), r.Cells[1]).SetArgDisplayNames($"{DocPath}:{r.Line}"));

    private static IEnumerable<TestCaseData> ExampleRows() =>
        TableRows("### Examples").Select(r => new TestCaseData((object)r.Cells).SetArgDisplayNames($"{DocPath}:{r.Line}"));

    [TestCaseSource(nameof(ConstantRows))]
    public void Document_ConstantRow_EqualsCode(string name, string documented)
    {
        MemberInfo? member = typeof(ProtocolConstants).GetMember(name, BindingFlags.Public | BindingFlags.Static).SingleOrDefault();
        Assert.That(member, Is.Not.Null, $"{name} is documented but is not a ProtocolConstants member");
        object? value = member switch
        {
            FieldInfo field => field.GetValue(null),
            PropertyInfo property => property.GetValue(null),
            _ => null,
        };

        if (value is IReadOnlyList<int> list)
        {
            Assert.That(documented.Split(',').Select(s => int.Parse(s.Trim(), CultureInfo.InvariantCulture)), Is.EqualTo(list));
        }
        else
        {
            long expected = documented.StartsWith("0x", StringComparison.Ordinal)
                ? long.Parse(documented[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : long.Parse(documented, CultureInfo.InvariantCulture);
            Assert.That(Convert.ToInt64(value, CultureInfo.InvariantCulture), Is.EqualTo(expected), name);
        }
    }

    [Test]
    public void Document_ConstantsTable_ListsEveryPublicConstant()
    {
        if (RepositoryPaths.FindRoot() is null)
        {
            Assert.Ignore("skipped: repository root not found");
        }

        var documented = TableRows("## Constants").Select(r => r.Cells[0].Trim('`')).ToHashSet();
        var members = typeof(ProtocolConstants).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name)
            .Concat(typeof(ProtocolConstants).GetProperties(BindingFlags.Public | BindingFlags.Static).Select(p => p.Name));
        Assert.That(members.Where(m => !documented.Contains(m)), Is.Empty, "constants missing from the document");
    }

    /// <summary>The example session of the document's examples: nonces 0x12345678 and 0x9ABCDEF0.</summary>
    private static readonly uint s_exampleSession = SessionKey.CrcState(0x12345678, 0x9ABCDEF0);

    [TestCaseSource(nameof(ExampleRows))]
    public void Document_ExampleFrame_EqualsEncoder(string[] cells)
    {
        // | example | type | flags | seq | ack | payload | frame bytes |
        byte[] payload = Hex(cells[5]);
        var type = (FrameType)byte.Parse(cells[1], CultureInfo.InvariantCulture);
        byte[] encoded = FrameCodec.Encode(
            type,
            byte.Parse(cells[2], CultureInfo.InvariantCulture),
            byte.Parse(cells[3], CultureInfo.InvariantCulture),
            byte.Parse(cells[4], CultureInfo.InvariantCulture),
            payload,
            type == FrameType.Reset ? Crc32C.InitialState : s_exampleSession);
        Assert.That(Convert.ToHexString(encoded), Is.EqualTo(Convert.ToHexString(Hex(cells[6]))), cells[0]);
    }

    private static byte[] Hex(string cell) => Convert.FromHexString(cell.Trim('`').Replace(" ", string.Empty, StringComparison.Ordinal));

    private static List<(int Line, string[] Cells)> TableRows(string heading)
    {
        var rows = new List<(int, string[])>();
        string? root = RepositoryPaths.FindRoot();
        if (root is null)
        {
            return rows;
        }

        string[] lines = File.ReadAllLines(Path.Combine(root, DocPath));
        int start = Array.IndexOf(lines, heading);
        if (start < 0)
        {
            throw new InvalidOperationException($"{DocPath} has no '{heading}' section");
        }

        int headerRows = 0;
        for (int i = start + 1; i < lines.Length && !lines[i].StartsWith('#'); i++)
        {
            if (!lines[i].StartsWith('|'))
            {
                if (headerRows > 0)
                {
                    break;
                }

                continue;
            }

            if (headerRows++ < 2)
            {
                continue;
            }

            string[] cells = lines[i].Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            rows.Add((i + 1, cells));
        }

        return rows;
    }
}
