// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net.Sockets;
using System.Text;
using HyperDbgRemote.Agent.Gdb;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>The gdb listener of a real agent process, driven byte by byte: hostile input gets clear errors, changes
/// nothing, and the listener keeps serving.</summary>
[NonParallelizable]
public sealed class GdbServerTests
{
    private AgentProcess _agent = null!;
    private int _port;

    [OneTimeSetUp]
    public void StartAgent()
    {
        _agent = AgentProcess.Start("--guest", "demo", "--initial-break", "--listen", "gdb://127.0.0.1:0");
        _port = int.Parse(_agent.Listen.Single(l => l.StartsWith("gdb://", StringComparison.Ordinal)).Split(':')[2], System.Globalization.CultureInfo.InvariantCulture);
    }

    [OneTimeTearDown]
    public void StopAgent() => _agent.Dispose();

    private sealed class Client : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly GdbPacketDecoder _decoder = new(1 << 20);
        private readonly Queue<GdbInput> _pending = new();

        public Client(int port)
        {
            _tcp = new TcpClient("127.0.0.1", port);
            _stream = _tcp.GetStream();
            _stream.ReadTimeout = 30_000;
        }

        public void SendRaw(string text) => _stream.Write(Encoding.Latin1.GetBytes(text));

        public GdbInput Next()
        {
            byte[] buffer = new byte[4096];
            while (_pending.Count == 0)
            {
                int n = _stream.Read(buffer);
                if (n == 0)
                {
                    throw new AssertionException("the agent closed the connection");
                }

                var output = new List<GdbInput>();
                _decoder.Feed(buffer.AsSpan(0, n), output);
                output.ForEach(_pending.Enqueue);
            }

            return _pending.Dequeue();
        }

        /// <summary>Sends a packet and returns the reply (after the '+').</summary>
        public string Ask(string payload)
        {
            Send(payload);
            return Reply();
        }

        /// <summary>Sends a packet and waits for its '+' (for a resume, whose reply is the next stop).</summary>
        public void Send(string payload)
        {
            _stream.Write(GdbPacketDecoder.Frame(payload));
            Assert.That(Next().Kind, Is.EqualTo(GdbInputKind.Ack), payload);
        }

        /// <summary>The next reply packet, acknowledged.</summary>
        public string Reply()
        {
            GdbInput reply = Next();
            SendRaw("+");
            return reply.Payload;
        }

        public void Dispose() => _tcp.Dispose();
    }

    /// <summary>
    /// gdb takes the guest as halted after a stop; our debugger (a separate process on tcp://) resumes it meanwhile.
    /// gdb's register read then breaks in first and answers from the halted core; gdb's continue waits for the next
    /// halt (here gdb's own Ctrl-C) instead of failing with "not halted".
    /// </summary>
    [Test]
    public void ResumedByOurDebugger_ARegisterReadBreaksInFirst_AndAContinueWaitsForTheNextHalt()
    {
        // Arrange: gdb attached at the initial break
        using AgentProcess agent = AgentProcess.Start("--guest", "demo", "--initial-break", "--listen", "gdb://127.0.0.1:0", "--listen", "tcp://127.0.0.1:0");
        int port = int.Parse(agent.Listen.Single(l => l.StartsWith("gdb://", StringComparison.Ordinal)).Split(':')[2], System.Globalization.CultureInfo.InvariantCulture);
        string tcp = agent.Listen.Single(l => l.StartsWith("tcp://", StringComparison.Ordinal));
        using var gdb = new Client(port);
        Assert.That(gdb.Ask("qSupported:error-message+"), Does.Contain("error-message+"));
        Assert.That(gdb.Ask("?"), Is.EqualTo("T05thread:1;"));
        Assert.That(gdb.Ask("p10"), Is.EqualTo("0000100000000000"), "RIP at the initial break");

        // Act: our debugger continues the guest and leaves; gdb reads RIP
        (int exit, string output, string errors) = DebuggerProcesses.RunDebugger(TimeSpan.FromMinutes(2), "--connect", tcp, "-c", "g");
        Assert.That(exit, Is.Zero, output + errors);
        string rip = gdb.Ask("p10");

        // Assert: read from a halted core (not "needs a halted debuggee"; the core may or may not have run on by then)
        Assert.That(rip, Does.Match("^[0-9a-f]{16}$"), rip);
        Assert.That(gdb.Ask("p10"), Is.EqualTo(rip), "halted: a second read gives the same RIP");

        // Act: our debugger continues it again; gdb continues, then interrupts
        (exit, output, errors) = DebuggerProcesses.RunDebugger(TimeSpan.FromMinutes(2), "--connect", tcp, "-c", "g");
        Assert.That(exit, Is.Zero, output + errors);
        gdb.Send("vCont;c");
        gdb.SendRaw("\u0003");

        // Assert: the continue's stop reply is the interrupt's
        Assert.That(gdb.Reply(), Does.Match("^T02thread:[12];$"));
        Assert.That(gdb.Ask("p10"), Does.Match("^[0-9a-f]{16}$"));
    }

    [Test]
    public void Packets_HostileInput_ClearErrorsNothingChangedAndTheListenerServesOn()
    {
        using (var gdb = new Client(_port))
        {
            // Arrange
            Assert.That(gdb.Ask("qSupported:error-message+"), Does.Contain("PacketSize=4000"));
            Assert.That(gdb.Ask("?"), Does.StartWith("T05thread:"));
            string registers = gdb.Ask("g");
            string memory = gdb.Ask("m100000,10");

            // Act / Assert: a bad checksum is answered '-' and the resent packet is answered.
            gdb.SendRaw("$m100000,10#00");
            Assert.That(gdb.Next().Kind, Is.EqualTo(GdbInputKind.Nack));
            Assert.That(gdb.Ask("m100000,10"), Is.EqualTo(memory));

            // An oversized packet, malformed hex, a short G, an unmapped read: errors, nothing written.
            Assert.That(gdb.Ask("M100000,1:" + new string('0', 20_000)), Does.StartWith("E.").And.Contain("PacketSize"));
            Assert.That(gdb.Ask("M100000,2:zz00"), Is.EqualTo("E.malformed hex data"));
            Assert.That(gdb.Ask("G00"), Does.StartWith("E.G carries 1 bytes"));
            Assert.That(gdb.Ask("p999"), Does.StartWith("E.register 999 does not exist"));
            Assert.That(gdb.Ask("m7fffffff0000,8"), Is.EqualTo("E14"));
            Assert.That(gdb.Ask("Hg9"), Does.StartWith("E.thread 9 does not exist"));
            Assert.That(gdb.Ask("Z1,100019,1") + gdb.Ask("Z1,10001d,1") + gdb.Ask("Z1,100025,1") + gdb.Ask("Z1,100027,1"), Is.EqualTo("OKOKOKOK"));
            Assert.That(gdb.Ask("Z1,100029,1"), Does.StartWith("E.at most 4 hardware breakpoints"));
            Assert.That((gdb.Ask("g"), gdb.Ask("m100000,10")), Is.EqualTo((registers, memory)), "nothing changed");

            // A second client is told why and closed; the first is unaffected.
            using (var second = new Client(_port))
            {
                second.SendRaw("+");
                Assert.That(second.Ask("qSupported"), Does.Contain("another gdb client is attached"));
            }

            Assert.That(gdb.Ask("qC"), Is.EqualTo("QC1"));

            // The client vanishes in the middle of a packet.
            gdb.SendRaw("$m100000,");
        }

        // Assert: the listener serves the next client once it has seen the first one go (it refuses until then).
        Client? next = null;
        for (int attempt = 0; attempt < 1000 && next is null; attempt++)
        {
            var candidate = new Client(_port);
            if (candidate.Ask("qSupported").Contains("PacketSize", StringComparison.Ordinal))
            {
                next = candidate;
            }
            else
            {
                candidate.Dispose();
            }
        }

        Assert.That(next, Is.Not.Null, "a new client was served after the first one vanished");
        using Client served = next!;
        Assert.That(served.Ask("qfThreadInfo"), Is.EqualTo("m1,2"));
        Assert.That(served.Ask("z1,100019,1"), Is.EqualTo("OK"));
        Assert.That(served.Ask("D"), Is.EqualTo("OK"));
    }
}
