// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices.Serial;

namespace HyperDbgRemote.VmxDriver.Tests.Serial;

public sealed class SerialBackendSpecTests
{
    private static IEnumerable<TestCaseData> Good()
    {
        yield return new TestCaseData("stdio", new SerialBackendSpec(SerialBackendKind.Stdio));
        yield return new TestCaseData("pty", new SerialBackendSpec(SerialBackendKind.Pty));
        yield return new TestCaseData("file:/tmp/com1.log", new SerialBackendSpec(SerialBackendKind.File, "/tmp/com1.log"));
        yield return new TestCaseData("unix:/run/x/com1.sock", new SerialBackendSpec(SerialBackendKind.Unix, "/run/x/com1.sock"));
        yield return new TestCaseData("tcp://127.0.0.1:4555", new SerialBackendSpec(SerialBackendKind.Tcp, Port: 4555));
        yield return new TestCaseData("tcp://localhost:0", new SerialBackendSpec(SerialBackendKind.Tcp, Port: 0));
    }

    [TestCaseSource(nameof(Good))]
    public void Parse_Good(string text, SerialBackendSpec expected) => Assert.That(SerialBackendSpec.Parse(text), Is.EqualTo(expected));

    [TestCase("", "unknown serial backend")]
    [TestCase("serial0", "unknown serial backend")]
    [TestCase("file:", "needs a path")]
    [TestCase("unix:", "needs a path")]
    [TestCase("tcp://0.0.0.0:4555", "loopback address only")]
    [TestCase("tcp://10.0.0.1:4555", "loopback address only")]
    [TestCase("tcp://[::]:4555", "loopback address only")]
    [TestCase("tcp://127.0.0.1", "needs a port")]
    [TestCase("tcp://127.0.0.1:70000", "needs a port")]
    [TestCase("tcp://127.0.0.1:-1", "needs a port")]
    public void Parse_Bad_SaysWhy(string text, string expected)
    {
        Assert.That(SerialBackendSpec.TryParse(text, out SerialBackendSpec? spec, out string? error), Is.False);
        Assert.That(spec, Is.Null);
        Assert.That(error, Does.Contain(expected));
        Assert.That(() => SerialBackendSpec.Parse(text), Throws.TypeOf<FormatException>().With.Message.EqualTo(error));
    }
}
